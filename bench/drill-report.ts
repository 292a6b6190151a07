/** Tables and ratios for the rotation drill (numbers only: no credentials ever reach a report). */
import type { ContenderResult } from './drill-run.js';

export interface Ratios {
  /** peer failed / dbcreds failed; null when dbcreds failed 0 (then see `failedVsZero`). */
  failed: number | null;
  /** True when dbcreds failed 0 and the peer failed > 0 (the ratio is unbounded). */
  failedVsZero: boolean;
  /** peer GetSecretValue calls / dbcreds calls; null when dbcreds made 0 calls. */
  getSecretValue: number | null;
}

export function ratiosAgainst(baseline: ContenderResult | undefined, r: ContenderResult): Ratios | null {
  if (!baseline || baseline.unavailable || r.unavailable) return null;
  const div = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 100) / 100);
  return {
    failed: div(r.queriesFailed, baseline.queriesFailed),
    failedVsZero: baseline.queriesFailed === 0 && r.queriesFailed > 0,
    getSecretValue: div(r.getSecretValueCalls, baseline.getSecretValueCalls),
  };
}

function fmtRatio(x: number | null, vsZero = false): string {
  if (vsZero) return '∞ (vs 0)';
  if (x === null) return '–';
  return `${x}×`;
}

function fmtRecovery(r: ContenderResult): string {
  if (r.recoveryMs.length === 0) return '–';
  if (r.recoveryMs.some((x) => x === null)) {
    const n = r.recoveryMs.filter((x) => x === null).length;
    return `never (${n}/${r.recoveryMs.length})`;
  }
  return `${Math.max(...(r.recoveryMs as number[]))} ms`;
}

export function formatTable(engine: string, results: ContenderResult[]): string {
  const base = results.find((r) => r.contender === 'dbcreds');
  const header = [
    'contender',
    'ok',
    'failed',
    'failed/rotation',
    'killed†',
    'GetSecretValue',
    'p50 ms',
    'p99 ms',
    'recovery (max)',
    'uncaught',
    'failed vs dbcreds',
    'SM calls vs dbcreds',
  ];
  const rows: string[][] = results.map((r) => {
    if (r.unavailable) {
      return [r.contender, `unavailable: ${r.unavailable.slice(0, 80)}`, '', '', '', '', '', '', '', '', '', ''];
    }
    const ratio = r.contender === 'dbcreds' ? null : ratiosAgainst(base, r);
    return [
      r.contender,
      String(r.queriesOk),
      String(r.queriesFailed),
      r.failedPerRotation.join('/'),
      String(r.killedInFlight),
      String(r.getSecretValueCalls),
      String(r.latencyMs.p50),
      String(r.latencyMs.p99),
      fmtRecovery(r),
      String(r.uncaughtErrors),
      r.contender === 'dbcreds' ? '1×' : ratio ? fmtRatio(ratio.failed, ratio.failedVsZero) : '–',
      r.contender === 'dbcreds' ? '1×' : ratio ? fmtRatio(ratio.getSecretValue) : '–',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    `### ${engine}`,
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}
