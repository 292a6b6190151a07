/** The cost model of `npm run bench -- cost` (cost.ts): prices, assumptions, the derivation and table. */

/** The launch post's pricing. */
export const PRICE = { perSecretMonth: 0.4, perCall: 0.05 / 10_000 };

export interface CostAssumptions {
  fleets: number[];
  ttlHours: number;
  rotationDays: number;
  /** How long the wrapper keeps failing after a rotation: until its internal pool is recycled. */
  wrapperFailingSeconds: number;
}

export const ASSUMPTIONS: CostAssumptions = {
  fleets: [10, 100, 1000],
  ttlHours: 1,
  rotationDays: 30,
  wrapperFailingSeconds: 30 * 60,
};

/** What the drill measured per contender (one process, its load). */
export interface DrillFigures {
  rotations: number;
  intervalMs: number;
  dbcredsCalls: number;
  wrapperCalls: number;
  wrapperFailed: number;
}

const HOURS_PER_MONTH = 30 * 24;
const usd = (x: number) => (x < 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`);
const n = (x: number) => Math.round(x).toLocaleString('en-US');

export function costTable(d: DrillFigures, a: CostAssumptions = ASSUMPTIONS): string {
  const rotationsPerMonth = 30 / a.rotationDays;
  // dbcreds: each expiry is drawn in [ttl/2, ttl] (mean 0.75 ttl): the mean for a task that opens new
  // connections all the time (a fetch needs a new connection after the expiry), and at most one per ttl/2.
  // Per rotation: the drill's calls minus the initial read.
  const dbcredsPerTaskMonth = HOURS_PER_MONTH / (0.75 * a.ttlHours);
  const dbcredsMostPerTaskMonth = HOURS_PER_MONTH / (0.5 * a.ttlHours);
  const dbcredsPerRotation = (d.dbcredsCalls - 1) / d.rotations;
  // A TTL cache (Powertools getSecret maxAge): one call per maxAge on use; nothing on a failure.
  const ttlPerTaskMonth = HOURS_PER_MONTH / a.ttlHours;
  // The wrapper: one call per failed connect, and in the drill it never recovered: calls per second
  // while failing = its calls over the drill's rotation windows.
  const failingSeconds = (d.rotations * d.intervalMs) / 1000;
  const wrapperRate = d.wrapperCalls / failingSeconds;
  const wrapperPerRotation = wrapperRate * a.wrapperFailingSeconds;
  const lines = [
    `Derivation (pricing $${PRICE.perSecretMonth.toFixed(2)} per secret-month, $0.05 per 10,000 calls; one secret; ` +
      `TTL ${a.ttlHours} h; a rotation every ${a.rotationDays} days = ${rotationsPerMonth} per month):`,
    `- dbcreds, steady: ${HOURS_PER_MONTH} h / (0.75 × ${a.ttlHours} h mean jittered TTL) = ${n(dbcredsPerTaskMonth)} calls per task-month on average ` +
      `(at most ${HOURS_PER_MONTH} / (0.5 × ${a.ttlHours} h) = ${n(dbcredsMostPerTaskMonth)}, every expiry at ttl/2; fewer when no new connection follows an expiry);`,
    `  per rotation: (drill ${d.dbcredsCalls} calls − 1 initial read) / ${d.rotations} rotations = ${dbcredsPerRotation.toFixed(1)} per task; 0 failed queries.`,
    `- TTL cache (maxAge ${a.ttlHours} h), steady: ${HOURS_PER_MONTH} / ${a.ttlHours} = ${n(ttlPerTaskMonth)} calls per task-month;`,
    `  per rotation: no extra call, but every new connection fails until the cached value expires: ` +
      `${(a.ttlHours * 30).toFixed(0)} min per task on average (up to ${a.ttlHours * 60} min).`,
    `- AWS wrapper 2.0.1, steady: no TTL, ~0 calls; per rotation: drill ${d.wrapperCalls} calls over ` +
      `${failingSeconds.toFixed(1)} s of failing = ${wrapperRate.toFixed(1)} calls/s per task (one per failed connect, ` +
      `${d.wrapperFailed} failed queries), for ${a.wrapperFailingSeconds / 60} min until its pool is recycled = ` +
      `${n(wrapperPerRotation)} calls per task (the rate scales with the task's connection churn).`,
    '',
    '| tasks | dbcreds calls / month: mean (most) | dbcreds $ / month: mean (most) | TTL cache calls / month | TTL cache $ / month | AWS wrapper calls / month | AWS wrapper $ / month |',
    '|---|---|---|---|---|---|---|',
  ];
  const month = (calls: number) => usd(PRICE.perSecretMonth + calls * PRICE.perCall);
  for (const tasks of a.fleets) {
    const dbcreds = tasks * (dbcredsPerTaskMonth + dbcredsPerRotation * rotationsPerMonth);
    const most = tasks * (dbcredsMostPerTaskMonth + dbcredsPerRotation * rotationsPerMonth);
    const ttl = tasks * ttlPerTaskMonth;
    const wrapper = tasks * wrapperPerRotation * rotationsPerMonth;
    lines.push(
      `| ${n(tasks)} | ${n(dbcreds)} (${n(most)}) | ${month(dbcreds)} (${month(most)}) | ${n(ttl)} | ${month(ttl)} | ${n(wrapper)} | ${month(wrapper)} |`,
    );
  }
  lines.push(
    '',
    `Through each rotation, per task: dbcreds ${dbcredsPerRotation.toFixed(1)} calls and 0 failed queries; ` +
      `TTL cache no extra call, new connections failing for ${(a.ttlHours * 30).toFixed(0)} min on average; ` +
      `AWS wrapper ${n(wrapperPerRotation)} calls and failing for ${a.wrapperFailingSeconds / 60} min (assumed).`,
  );
  return lines.join('\n');
}
