/**
 * An optional driver module, loaded on first use (a PostgreSQL-only deployment needs no mysql2, and the
 * reverse): its ES module namespace, or its CommonJS `default`, whichever has `member`.
 */
export function lazyModule<M>(load: () => Promise<unknown>, member: keyof M): () => Promise<M> {
  let loaded: Promise<M> | undefined;
  return () => {
    loaded ??= load().then((m) => {
      const mod = m as M & { default?: M };
      return typeof mod[member] === 'function' ? mod : (mod.default as M);
    });
    return loaded;
  };
}
