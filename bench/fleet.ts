/**
 * `npm run bench -- fleet [flags]`: K processes (child processes, fleet-worker.ts), each with its own
 * dbcreds pool and credential source, against one local Secrets Manager and one database, while the
 * secret rotates R times and the short TTL expires several times per process. Reports GetSecretValue
 * calls (total, per process), failed queries, and a per-second histogram of the calls: how the TTL's
 * jitter spreads the refreshes. `--help` lists the flags.
 */
import { loadavg } from 'node:os';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { exitOnSignals, int, parseFlags, writeReport } from './cli.js';
import { type DrillEngine, startPostgres, useMariaDb } from './drill-servers.js';
import { type FleetResult, formatFleet } from './fleet-report.js';
import { FLEET_DEFAULTS as DEFAULTS, type FleetOptions, runFleet } from './fleet-run.js';

const HELP = `Usage: npm run bench -- fleet [flags]

  --sizes <list>          fleet sizes, processes (default ${DEFAULTS.sizes.join(',')})
  --engine <e>            postgres | mysql (default ${DEFAULTS.engine})
  --rotations <n>         rotations per fleet run (default ${DEFAULTS.rotations})
  --interval-ms <ms>      time between rotations and after the last (default ${DEFAULTS.intervalMs})
  --warmup-ms <ms>        load before the first rotation (default ${DEFAULTS.warmupMs})
  --ttl-ms <ms>           the sources' TTL; each expiry is drawn in [ttl/2, ttl] (default ${DEFAULTS.ttlMs})
  --workers <n>           query loops per process (default ${DEFAULTS.workers})
  --pool-max <n>          pool size per process (default ${DEFAULTS.poolMax})
  --idle-timeout-ms <ms>  pool idle timeout: connection churn (default ${DEFAULTS.idleTimeoutMs})
  --think-ms <ms>         max random pause between a loop's queries (default ${DEFAULTS.thinkMs})
  --window-ms <ms>        setSecret→finishSecret gap (default ${DEFAULTS.windowMs})
  --out <file>            JSON output (default bench/results/fleet-<date>.json)
  --no-write              print only
  --help`;

async function main(): Promise<void> {
  const names = [
    'sizes',
    'engine',
    'rotations',
    'interval-ms',
    'warmup-ms',
    'ttl-ms',
    'workers',
    'pool-max',
    'idle-timeout-ms',
    'think-ms',
    'window-ms',
    'out',
  ] as const;
  const flags = parseFlags(names, HELP);
  if (!flags) return;
  const { v, values } = flags;
  const engine = (v.engine ?? DEFAULTS.engine) as DrillEngine;
  if (engine !== 'postgres' && engine !== 'mysql') throw new Error('--engine must be postgres or mysql');
  const o: FleetOptions = {
    sizes: v.sizes ? v.sizes.split(',').map((s) => int('sizes', s, 1, 1)) : DEFAULTS.sizes,
    engine,
    rotations: int('rotations', v.rotations, DEFAULTS.rotations),
    intervalMs: int('interval-ms', v['interval-ms'], DEFAULTS.intervalMs),
    warmupMs: int('warmup-ms', v['warmup-ms'], DEFAULTS.warmupMs),
    ttlMs: int('ttl-ms', v['ttl-ms'], DEFAULTS.ttlMs),
    workers: int('workers', v.workers, DEFAULTS.workers),
    poolMax: int('pool-max', v['pool-max'], DEFAULTS.poolMax),
    idleTimeoutMs: int('idle-timeout-ms', v['idle-timeout-ms'], DEFAULTS.idleTimeoutMs),
    thinkMs: int('think-ms', v['think-ms'], DEFAULTS.thinkMs),
    windowMs: int('window-ms', v['window-ms'], DEFAULTS.windowMs),
  };
  exitOnSignals();
  const started = Date.now();
  console.log(
    `fleet: ${o.sizes.join(', ')} processes × ${o.workers} loops (pool ${o.poolMax}, idle timeout ${o.idleTimeoutMs} ms), ` +
      `${o.engine}, ${o.rotations} rotations every ${o.intervalMs} ms, TTL ${o.ttlMs} ms (expiry drawn in [ttl/2, ttl]); ` +
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  const sm = await startLocalSecretsManager({ port: 0 });
  const server = o.engine === 'postgres' ? await startPostgres() : await useMariaDb();
  const results: FleetResult[] = [];
  try {
    for (const k of o.sizes) {
      console.log(`  ${k} process(es)`);
      const r = await runFleet(sm, server, o, k, (l) => console.log(l));
      results.push(r);
      console.log(
        `    ok ${r.queriesOk}, failed ${r.queriesFailed}, GetSecretValue ${r.getSecretValue}, crashed ${r.crashed}`,
      );
      for (const s of r.errorSamples) console.log(`      ${s}`);
    }
  } finally {
    await server.stop();
    await sm.close();
  }
  console.log(`\n${formatFleet(results, o)}\n`);
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`total ${seconds} s`);
  const mismatch = results.filter((r) => r.getSecretValue !== r.getSecretValueServer);
  if (mismatch.length > 0) {
    // A process counts attempts; one that failed on a keep-alive socket the SM had just closed (and
    // that core retried) never reached the SM's counter.
    for (const r of mismatch) {
      console.log(
        `note: ${r.processes} processes: ${r.getSecretValue} attempts, ${r.getSecretValueServer} reached the SM`,
      );
    }
  }
  if (values['no-write']) return;
  await writeReport('fleet', v.out, { totalSeconds: seconds, options: o, results });
}

await main();
process.exit(0);
