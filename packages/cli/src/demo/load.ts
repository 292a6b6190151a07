import { setTimeout as sleep } from 'node:timers/promises';
import type { LibraryClient } from '../libraries/types.js';

export interface LoadStats {
  ok: number;
  failed: number;
  /** Failures by error code (or name), e.g. `{ '28P01': 1 }`. */
  failures: Record<string, number>;
  /** The first few failure messages (driver messages carry no passwords). */
  samples: string[];
}

/** One unit of the demo's app by `worker`: a note written and read back; every 4th inside a transaction. */
export async function noteStep(client: LibraryClient, worker: number, n: number): Promise<void> {
  const author = `worker-${worker}`;
  if (n % 4 === 3 && client.transaction) {
    await client.transaction(async (query) => {
      await query({ author, body: `note ${n} (tx)` });
    });
    return;
  }
  await client.query({ author, body: `note ${n}` });
}

/** N workers calling {@link noteStep} in a loop with a short random pause; can be paused and stopped. */
export interface Load {
  readonly stats: LoadStats;
  /** Holds new steps and resolves once no step is in flight (bounded by `timeoutMs`). */
  pause(timeoutMs?: number): Promise<void>;
  resume(): void;
  /** Stops the workers and waits for them to finish their current step. */
  stop(): Promise<void>;
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; name?: unknown };
  if (typeof e?.code === 'string' || typeof e?.code === 'number') return String(e.code);
  if (typeof e?.errno === 'number') return String(e.errno);
  return typeof e?.name === 'string' ? e.name : 'Error';
}

export function startLoad(client: LibraryClient, opts: { workers: number; thinkMs?: number }): Load {
  const stats: LoadStats = { ok: 0, failed: 0, failures: {}, samples: [] };
  const think = opts.thinkMs ?? 20;
  let stopping = false;
  let inFlight = 0;
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let drained: (() => void) | undefined;

  const worker = async (w: number) => {
    for (let n = 0; !stopping; n++) {
      if (gate) await gate.promise;
      if (stopping) break;
      inFlight++;
      try {
        await noteStep(client, w, n);
        stats.ok++;
      } catch (err) {
        stats.failed++;
        const code = codeOf(err);
        stats.failures[code] = (stats.failures[code] ?? 0) + 1;
        if (stats.samples.length < 5) stats.samples.push(`${code}: ${(err as Error)?.message ?? String(err)}`);
      } finally {
        inFlight--;
        if (inFlight === 0) drained?.();
      }
      await sleep(Math.random() * think);
    }
  };
  const running = Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));

  return {
    stats,
    async pause(timeoutMs = 10_000) {
      if (!gate) {
        let open!: () => void;
        const promise = new Promise<void>((resolve) => {
          open = resolve;
        });
        gate = { promise, open };
      }
      if (inFlight === 0) return;
      const timer = new AbortController(); // cancelled below: a pending 10 s timer would delay the exit
      await Promise.race([
        new Promise<void>((resolve) => (drained = resolve)),
        sleep(timeoutMs, undefined, { signal: timer.signal }).catch(() => {}),
      ]);
      timer.abort();
      drained = undefined;
    },
    resume() {
      gate?.open();
      gate = undefined;
    },
    async stop() {
      stopping = true;
      gate?.open();
      gate = undefined;
      await running;
    },
  };
}
