/**
 * Simulated time for the whole process: a heap of timers behind `setTimeout` / `setInterval` (and their
 * clears) and a seeded `Math.random`, installed over the globals while a simulation runs. Core's own
 * timers (attempt timeouts, retry backoff, the rotation wait, the agent spread, holdOpen) therefore run
 * on the simulated clock unchanged. A heap rather than @sinonjs/fake-timers: its next-timer lookup scans
 * every pending timer, and a 100,000-process fleet keeps hundreds of thousands of them.
 */
import { setImmediate as realSetImmediate } from 'node:timers';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  /** Repeat period (setInterval), or 0. */
  every: number;
  cancelled: boolean;
}

/** The timer object handed out: Node's Timeout surface that core uses (unref, ref, hasRef). */
class Handle {
  constructor(readonly t: Timer) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  [Symbol.toPrimitive](): number {
    return this.t.seq;
  }
}

const noop = () => {};

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class VirtualTime {
  /** Simulated milliseconds. */
  now: number;
  readonly #heap: Timer[] = [];
  #seq = 0;
  #cancelled = 0;
  #saved: Record<string, unknown> | undefined;

  constructor(start: number) {
    this.now = start;
  }

  /** Runs `fn` at `at` (simulated ms); returns a handle for cancel(). */
  at(at: number, fn: () => void, every = 0): Handle {
    const t: Timer = { at: Math.max(at, this.now), seq: this.#seq++, fn, every, cancelled: false };
    this.#push(t);
    return new Handle(t);
  }

  cancel(h: unknown): void {
    if (!(h instanceof Handle) || h.t.cancelled) return;
    h.t.cancelled = true;
    // Drop the callback now (a cleared holdOpen interval would otherwise keep its closure for 24 days),
    // and rebuild the heap once most of it is cleared timers.
    h.t.fn = noop;
    if (++this.#cancelled > 1_024 && this.#cancelled > this.#heap.length / 2) this.#compact();
  }

  #compact(): void {
    const live = this.#heap.filter((t) => !t.cancelled);
    this.#heap.length = 0;
    this.#cancelled = 0;
    for (const t of live) this.#push(t);
  }

  /** Replaces the timer globals and Math.random until uninstall(). */
  install(random: () => number): void {
    const g = globalThis as Record<string, unknown>;
    this.#saved = {
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      setInterval: g.setInterval,
      clearInterval: g.clearInterval,
      random: Math.random,
    };
    const delay = (ms: unknown) => {
      const n = Number(ms);
      // Node: NaN, < 1 or > 2^31-1 become 1 ms.
      return Number.isFinite(n) && n >= 1 && n <= 2_147_483_647 ? n : 1;
    };
    g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      this.at(this.now + delay(ms), () => fn(...args));
    g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      this.at(this.now + delay(ms), () => fn(...args), delay(ms));
    g.clearTimeout = (h: unknown) => this.cancel(h);
    g.clearInterval = (h: unknown) => this.cancel(h);
    Math.random = random;
  }

  uninstall(): void {
    const s = this.#saved;
    if (!s) return;
    const g = globalThis as Record<string, unknown>;
    for (const k of ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval']) g[k] = s[k];
    Math.random = s.random as () => number;
    this.#saved = undefined;
  }

  /**
   * Runs every timer due up to `end`, then sets the clock to `end`. Timers are taken in batches of one
   * simulated millisecond; after each batch the real event loop turns once (setImmediate), so every
   * promise continuation they started runs before later timers, at the batch's time.
   */
  async runUntil(end: number): Promise<void> {
    for (;;) {
      const first = this.#peek();
      if (first === undefined || first.at > end) break;
      const batchEnd = Math.min(end, first.at + 1);
      for (let t = this.#peek(); t !== undefined && t.at <= batchEnd; t = this.#peek()) {
        this.#pop();
        this.now = Math.max(this.now, t.at);
        if (t.every > 0) {
          t.at += t.every;
          t.seq = this.#seq++;
          this.#push(t);
        } else t.cancelled = true; // fired: a later clear has nothing to remove
        t.fn();
      }
      await new Promise<void>((r) => realSetImmediate(r));
    }
    this.now = Math.max(this.now, end);
    await new Promise<void>((r) => realSetImmediate(r));
  }

  /** Pending timers (cancelled ones included until they surface). */
  get pending(): number {
    return this.#heap.length;
  }

  #peek(): Timer | undefined {
    const h = this.#heap;
    while (h.length > 0 && h[0]!.cancelled) {
      this.#pop();
      this.#cancelled--;
    }
    return h[0];
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(t: Timer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): Timer | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
