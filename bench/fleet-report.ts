/** Figures and tables of the fleet benchmark (fleet.ts); numbers only, no credentials. */
import type { FleetOptions } from './fleet-run.js';

export interface FleetResult {
  processes: number;
  /** Processes that died before reporting (an uncaught error: a crash in production). */
  crashed: number;
  durationMs: number;
  queriesOk: number;
  queriesFailed: number;
  killedInFlight: number;
  /** GetSecretValue calls of the fleet (sum of the processes' own counts). */
  getSecretValue: number;
  /** The local SM's counter minus the bench's own calls: must equal `getSecretValue`. */
  getSecretValueServer: number;
  /** Backend 'agent': the agent's calls to Secrets Manager (GetSecretValue, DescribeSecret); else absent. */
  agentUpstream?: { getSecretValue: number; describeSecret: number };
  perProcess: { min: number; median: number; max: number };
  /** Calls per 1 s since the load started; index 0 includes the startup reads. */
  histogram: number[];
  /** Rotation start times, ms since the load started. */
  rotationsAtMs: number[];
  errorSamples: string[];
}

/** Calls per 1 s bin from `t0` over `durationMs` (calls before t0 land in bin 0). */
export function histogram(times: number[], t0: number, durationMs: number): number[] {
  const bins = new Array<number>(Math.max(1, Math.ceil(durationMs / 1000))).fill(0);
  for (const t of times) {
    const i = Math.min(bins.length - 1, Math.max(0, Math.floor((t - t0) / 1000)));
    bins[i]!++;
  }
  return bins;
}

export function formatFleet(results: FleetResult[], o: FleetOptions): string {
  const head = [
    'processes',
    'crashed',
    'ok',
    'failed',
    'GetSecretValue',
    'per process min / median / max',
    'expected per process',
    'max calls in 1 s',
  ];
  // 1 initial read + TTL expiries (mean TTL 0.75 × ttl under constant load) + ≤ 2 per rotation.
  const expected = (r: FleetResult) => {
    const expiries = Math.floor(r.durationMs / (0.75 * o.ttlMs));
    return `≈ ${1 + expiries}–${1 + expiries + 2 * o.rotations}`;
  };
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of results) {
    lines.push(
      `| ${[
        r.processes,
        r.crashed,
        r.queriesOk,
        r.queriesFailed,
        r.getSecretValue,
        `${r.perProcess.min} / ${r.perProcess.median} / ${r.perProcess.max}`,
        expected(r),
        Math.max(...r.histogram),
      ].join(' | ')} |`,
    );
  }
  const hist = results.map(
    (r) =>
      `${String(r.processes).padStart(3)} processes, calls per 1 s: ${r.histogram.join(' ')}` +
      `  (rotations at ${r.rotationsAtMs.map((t) => `${Math.floor(t / 1000)} s`).join(', ')})`,
  );
  return `${lines.join('\n')}\n\n${hist.join('\n')}`;
}
