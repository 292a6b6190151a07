/**
 * `npm run bench -- <name> [flags]`: runs one benchmark of this folder (bench/README.md).
 *   overhead   raw driver/ORM vs the same through dbcreds: the query-path cost (overhead.ts)
 *   drill      the rotation drill against dbcreds' peers (drill.ts; also `npm run drill`)
 *   fleet      K processes with their own pools against one Secrets Manager (fleet.ts)
 *   agent-fleet  K processes on one host: each direct vs all through one Secrets Manager Agent (agent-fleet.ts)
 *   core       source.get() cache-hit micro-benchmark (core-get.ts)
 *   sim        discrete-event simulation of 1,000–100,000 processes against Secrets Manager's quotas (sim.ts)
 *   cost       Secrets Manager cost of a fleet, from the newest drill result (cost.ts)
 *   cold-start require/import and start-to-first-query time vs the bare driver; bundle sizes (cold-start.ts)
 *   sm-outage  recovery after a Secrets Manager outage that overlapped a rotation (sm-outage.ts)
 *   soak       continuous load through the adapters, rotations and SM faults; heap/RSS slopes (soak.ts)
 */
const SCRIPTS: Record<string, string> = {
  overhead: './overhead.ts',
  drill: './drill.ts',
  fleet: './fleet.ts',
  'agent-fleet': './agent-fleet.ts',
  core: './core-get.ts',
  cost: './cost.ts',
  sim: './sim.ts',
  soak: './soak.ts',
  'cold-start': './cold-start.ts',
  'sm-outage': './sm-outage.ts',
};

const name = process.argv[2];
const script = name === undefined ? undefined : SCRIPTS[name];
if (script === undefined) {
  console.error(
    `Usage: npm run bench -- <${Object.keys(SCRIPTS).join('|')}> [flags]   (--help after the name lists its flags)`,
  );
  process.exit(name === undefined || name === '--help' ? 0 : 2);
}
// The benchmark parses process.argv.slice(2): drop the name.
process.argv.splice(2, 1);
await import(script);
