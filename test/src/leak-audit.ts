/**
 * Leak audit of the conformance suite: every password the test bed generates in this run is
 * remembered (`randomPassword`), and each scenario captures everything dbcreds lets out — log lines
 * (the source's `logger`), event payloads, every error an adapter threw (with its `cause` chain and
 * `dbcredsRefreshError`, as `inspect` with hidden fields shows it, plus `message`, `String` and JSON),
 * and every object reachable within 10 references from the source and from what the adapter's client
 * exposes (`LibraryClient.inspectables`), each inspected with hidden fields (`addGraph`). `assertClean` fails if any
 * password of the run appears.
 */
import { inspect } from 'node:util';
import type { CredentialSource, Logger } from '@dbcreds/core';

const RUN_PASSWORDS = new Set<string>();

/** Called by randomPassword(): every password of the run is a needle. */
export function rememberPassword(password: string): string {
  RUN_PASSWORDS.add(password);
  return password;
}

const deep = (v: unknown): string => {
  try {
    return inspect(v, { showHidden: true, depth: 10, getters: false, maxArrayLength: 50, maxStringLength: 10_000 });
  } catch (err) {
    return `<inspect threw ${String(err)}>`;
  }
};

/** How far addGraph follows references (what `deep` reaches). */
const GRAPH_DEPTH = 10;

const shallow = (v: object): string => {
  try {
    return inspect(v, { showHidden: true, depth: 0, getters: false, maxArrayLength: 50, maxStringLength: 10_000 });
  } catch (err) {
    return `<inspect threw ${String(err)}>`;
  }
};

/**
 * What `inspect` with showHidden would descend into: own property values (no getters run), Map and Set
 * entries; nothing behind a custom `[inspect.custom]` (its text is what inspect shows).
 */
function children(v: object): unknown[] {
  const out: unknown[] = [];
  try {
    if (typeof (v as { [inspect.custom]?: unknown })[inspect.custom] === 'function') return out;
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && 'value' in d) out.push(d.value);
    }
    if (v instanceof Map) for (const [k, x] of v) out.push(k, x);
    if (v instanceof Set) for (const x of v) out.push(x);
  } catch {
    // a proxy or exotic object: its own inspect text was kept
  }
  return out;
}

function errorTexts(err: unknown): string[] {
  const out = [deep(err)];
  try {
    out.push(String(err), (err as Error)?.message ?? '', JSON.stringify(err) ?? '');
  } catch {
    // a cyclic error: inspect covered it
  }
  return out;
}

export class LeakAudit {
  private readonly texts: Array<[where: string, text: string]> = [];
  lines = 0;

  readonly logger: Logger = {
    debug: (m, meta) => this.add('log', [m, meta]),
    info: (m, meta) => this.add('log', [m, meta]),
    warn: (m, meta) => this.add('log', [m, meta]),
    error: (m, meta) => this.add('log', [m, meta]),
  };

  watch(source: CredentialSource): void {
    for (const event of ['refreshed', 'rotated', 'fallback', 'error'] as const) {
      source.on(event, (payload) => this.add(`event:${event}`, payload));
    }
  }

  add(where: string, value: unknown): void {
    this.lines++;
    this.texts.push([where, deep(value)]);
  }

  /**
   * An object graph (the source, a library's client), as deep as `inspect` at depth 10 reaches, but each
   * object inspected once, on its own (depth 0, hidden fields shown): `inspect` of the whole graph expands
   * every path to a shared object again, which for a Prisma client over a pg pool after an out-of-band
   * change came to 135 MB of text and ~50 s.
   */
  addGraph(where: string, root: unknown): void {
    this.lines++;
    const seen = new Set<object>();
    let level: unknown[] = [root];
    for (let depth = 0; depth <= GRAPH_DEPTH && level.length > 0; depth++) {
      const next: unknown[] = [];
      for (const v of level) {
        if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
        seen.add(v);
        this.texts.push([where, shallow(v)]);
        next.push(...children(v));
      }
      level = next;
    }
  }

  error(err: unknown): void {
    this.lines++;
    for (const t of errorTexts(err)) this.texts.push(['error', t]);
  }

  /** Throws naming where a password of the run appeared (never the password itself). */
  assertClean(): void {
    const hits: string[] = [];
    for (const [where, text] of this.texts) {
      for (const pw of RUN_PASSWORDS) {
        const at = text.indexOf(pw);
        if (at < 0) continue;
        hits.push(where);
        // DBCREDS_LEAK_CONTEXT=1: print what precedes it (every password of the run masked) to find the holder.
        if (process.env.DBCREDS_LEAK_CONTEXT) console.error(mask(text.slice(Math.max(0, at - 400), at + 40)));
      }
    }
    if (hits.length > 0) {
      throw new Error(
        `leak audit: a password of this run appears in ${[...new Set(hits)].join(', ')} (${hits.length}×)`,
      );
    }
  }

  get passwords(): number {
    return RUN_PASSWORDS.size;
  }
}

/** The audit of the scenario running now (scenarios of a file run one after the other). */
export let currentAudit: LeakAudit | undefined;
export function setCurrentAudit(audit: LeakAudit | undefined): void {
  currentAudit = audit;
}

function mask(text: string): string {
  let out = text;
  for (const pw of RUN_PASSWORDS) out = out.replaceAll(pw, '***');
  return out;
}
