/** The cost derivation and the fleet histogram on fixed inputs (no servers). */
import { describe, expect, it } from 'vitest';
import { costTable } from './cost-model.js';
import { histogram } from './fleet-report.js';

describe('costTable', () => {
  const table = costTable({ rotations: 3, intervalMs: 5500, dbcredsCalls: 7, wrapperCalls: 633, wrapperFailed: 586 });
  const row = (tasks: string) =>
    table
      .split('\n')
      .find((l) => l.startsWith(`| ${tasks} |`))
      ?.split(' | ');

  it('derives per-task calls: 960/month (jittered 1 h TTL), 2 per rotation, the wrapper at the drill rate for 30 min', () => {
    expect(table).toContain('= 960 calls per task-month on average (at most 720 / (0.5 × 1 h) = 1,440');
    expect(table).toContain('= 2.0 per task');
    expect(table).toContain('= 38.4 calls/s per task');
    expect(table).toContain('= 69,055 calls per task');
  });

  it('prices 1,000 tasks: $0.40 per secret-month plus $0.05 per 10,000 calls', () => {
    // dbcreds: 1000 × (960 + 2) calls = 962,000 → $4.81 + $0.40, at most 1000 × (1,440 + 2) = 1,442,000 →
    // $7.21 + $0.40; TTL cache: 720,000 → $3.60 + $0.40
    expect(row('1,000')?.slice(1, 5)).toEqual(['962,000 (1,442,000)', '$5.21 ($7.61)', '720,000', '$4.00']);
    expect(row('10')?.slice(1, 3)).toEqual(['9,620 (14,420)', '$0.45 ($0.47)']);
  });
});

describe('fleet histogram', () => {
  it('bins calls per second from the start; earlier calls go to the first bin, later ones to the last', () => {
    expect(histogram([990, 1000, 1500, 2999, 3000, 9000], 1000, 3000)).toEqual([3, 1, 2]);
  });
});
