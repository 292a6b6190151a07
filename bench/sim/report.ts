/** The simulation's table: per scenario, quotas against peaks, failures, convergence and monthly cost. */
import { PRICE } from '../cost-model.js';
import type { SimResult } from './run.js';

const n = (x: number) => Math.round(x).toLocaleString('en-US');
/** '—': no steady run of the same size and mode to take the steady calls from. */
const usdOrDash = (x: number | undefined) => (x === undefined ? '—' : `$${x.toFixed(2)}`);

/** One rotation per 30 days (cost-model.ts ASSUMPTIONS.rotationDays). */
const ROTATIONS_PER_MONTH = 1;

export function modeOf(r: SimResult): string {
  const t = r.options.tuning;
  const tuned = t.retry ? ` retry ${t.retry.maxAttempts}×≤${(t.retry.maxDelayMs ?? 2000) / 1000}s` : '';
  const burst = (r.options.burstMs ?? 1_000) === 1_000 ? '' : `, ${r.options.burstMs} ms burst`;
  return `${r.options.agent ? `agent (${r.options.perHost}/host)` : 'direct'}${tuned}${burst}`;
}

/**
 * Monthly Secrets Manager bill of the fleet's secret at the launch post's prices: the steady calls per
 * hour (a steady run's own second half, or the steady run of the same size and mode) × 720 h, plus one
 * rotation's calls; undefined for a rotation run without that steady run.
 */
export function monthlyUsd(r: SimResult, steady: SimResult | undefined): number | undefined {
  if (steady === undefined && r.options.scenario !== 'steady') return undefined;
  const perHour = (steady ?? r).callsPerHour;
  const perRotation = r.callsPerRotation[0] ?? 0;
  return PRICE.perSecretMonth + (perHour * 720 + perRotation * ROTATIONS_PER_MONTH) * PRICE.perCall;
}

export function formatSim(results: SimResult[]): string {
  const lines = [
    '| scenario | N | reads via | GetSecretValue peak / p99 per s (quota) | DescribeSecret peak / p99 | writes peak | throttled | refused logins | failed | all on new version | reads per process min/med/max | $ / month |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const o = r.options;
    const steady = results.find(
      (s) => s.options.scenario === 'steady' && s.options.processes === o.processes && s.options.agent === o.agent,
    );
    const g = r.apis.GetSecretValue;
    const d = r.apis.DescribeSecret;
    const throttled = Object.values(r.apis).reduce((a, x) => a + x.throttled, 0);
    // Alternating users: the previous user keeps working, so processes move at their TTL, not at once.
    const notAll = o.scenario === 'alternating-users' ? 'at TTL (old user valid)' : 'not all';
    const held =
      o.scenario === 'steady'
        ? '—'
        : r.allHeldMs.map((ms) => (typeof ms !== 'number' ? notAll : `${(ms / 1000).toFixed(1)} s`)).join(', ');
    const quota = g.available === g.quota ? n(g.quota) : `${n(g.available)} of ${n(g.quota)}`;
    const scenario = o.backgroundGsvTps > 0 ? `${o.scenario}, ${n(o.backgroundGsvTps)}/s other load` : o.scenario;
    lines.push(
      `| ${scenario} | ${n(o.processes)} | ${modeOf(r)} | ${n(g.peak)} / ${n(g.p99)} (${quota}) | ${n(d.peak)} / ${n(d.p99)} | ${n(r.apis.Writes.peak)} | ${n(throttled)} | ${n(r.refusedLogins)} | **${n(r.failed)}** | ${held} | ${r.perProcess.min} / ${r.perProcess.median} / ${r.perProcess.max} | ${usdOrDash(monthlyUsd(r, steady))} |`,
    );
  }
  return lines.join('\n');
}
