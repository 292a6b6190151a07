import type { CredentialSourceEventName, CredentialSourceEvents, Logger } from './types.js';

type Listener<E extends CredentialSourceEventName> = (payload: CredentialSourceEvents[E]) => void;
type AnyListener = (payload: never) => void;

/**
 * Minimal typed emitter. Unlike node:events, emitting 'error' with no listener is a no-op (it never
 * throws), and a throwing listener cannot break a fetch (its error goes to the logger).
 */
export class SafeEmitter {
  readonly #listeners = new Map<CredentialSourceEventName, Array<{ fn: AnyListener; once: boolean }>>();
  readonly #logger: Logger | undefined;

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
  }

  add<E extends CredentialSourceEventName>(event: E, fn: Listener<E>, once: boolean): void {
    if (typeof fn !== 'function') throw new TypeError(`listener for '${event}' must be a function`);
    const list = this.#listeners.get(event) ?? [];
    list.push({ fn: fn as AnyListener, once });
    this.#listeners.set(event, list);
  }

  remove<E extends CredentialSourceEventName>(event: E, fn: Listener<E>): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    const i = list.findLastIndex((l) => l.fn === fn);
    if (i >= 0) list.splice(i, 1);
  }

  count(event: CredentialSourceEventName): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  emit<E extends CredentialSourceEventName>(event: E, payload: CredentialSourceEvents[E]): void {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return;
    for (const entry of [...list]) {
      if (entry.once) this.remove(event, entry.fn as Listener<E>);
      try {
        (entry.fn as Listener<E>)(payload);
      } catch (err) {
        this.#logger?.warn?.(`dbcreds: '${event}' listener threw`, {
          error: err instanceof Error ? err.name : typeof err,
        });
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
