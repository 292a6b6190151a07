/**
 * `pnpm --filter @dbcreds/bench drill [flags]`: the rotation drill against dbcreds and its peers,
 * on a private scram PostgreSQL and the local MariaDB, with the local Secrets Manager.
 * Prints one table per engine and writes bench/results/drill-<date>.json. `--help` lists the flags.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { exitOnSignals, int, parseFlags, writeReport } from './cli.js';
import { renderDrillChart } from './drill-chart.js';
import { ALL_CONTENDERS, contenderById, ORM_CONTENDERS } from './drill-contenders.js';
import { formatTable, ratiosAgainst } from './drill-report.js';
import { type ContenderResult, DEFAULT_DRILL_OPTIONS, type DrillOptions, runContender } from './drill-run.js';
import { type DrillEngine, type StartedServer, startPostgres, useMariaDb } from './drill-servers.js';

const HELP = `Usage: pnpm --filter @dbcreds/bench drill [flags]

  --engines <list>          postgres,mysql (default both)
  --contenders <list>       ${ALL_CONTENDERS.map((c) => c.id).join(',')} (default all; any powertools-<N>s)
                            also ${ORM_CONTENDERS.map((c) => c.id).join(',')} (dbcreds through each ORM), or 'orms' for those three;
                            any dbcreds-<library> of the catalog (dbcreds/testing)
  --workers <n>             concurrent workers per contender (default ${DEFAULT_DRILL_OPTIONS.workers})
  --rotations <n>           rotations per contender (default ${DEFAULT_DRILL_OPTIONS.rotations})
  --interval-ms <ms>        time between rotations and after the last (default ${DEFAULT_DRILL_OPTIONS.intervalMs})
  --warmup-ms <ms>          queries before the first rotation (default ${DEFAULT_DRILL_OPTIONS.warmupMs})
  --pool-max <n>            pool size (default ${DEFAULT_DRILL_OPTIONS.poolMax})
  --idle-timeout-ms <ms>    pool idle timeout: connection churn (default ${DEFAULT_DRILL_OPTIONS.idleTimeoutMs})
  --think-ms <ms>           max random pause between a worker's queries (default ${DEFAULT_DRILL_OPTIONS.thinkMs})
  --window-ms <ms>          setSecret→finishSecret gap (default ${DEFAULT_DRILL_OPTIONS.windowMs})
  --rotation <mode>         handler (RotateSecret + @dbcreds/rotation) | manual (default ${DEFAULT_DRILL_OPTIONS.rotation})
  --strategy <s>            single-user | alternating-users (handler mode; default single-user)
  --long                    preset: 10 rotations every 10 s, 32 workers
  --out <file>              JSON output (default bench/results/drill-<date>.json); the charts
                            drill-postgres.svg / drill-mariadb.svg go to the same folder
  --no-write                print only
  --help`;

async function main(): Promise<void> {
  const flags = parseFlags(
    [
      'engines',
      'contenders',
      'workers',
      'rotations',
      'interval-ms',
      'warmup-ms',
      'pool-max',
      'idle-timeout-ms',
      'think-ms',
      'window-ms',
      'rotation',
      'strategy',
      'out',
    ],
    HELP,
    ['long'],
  );
  if (!flags) return;
  const { v, values } = flags;
  const base: DrillOptions = values.long
    ? { ...DEFAULT_DRILL_OPTIONS, rotations: 10, intervalMs: 10_000, workers: 32 }
    : DEFAULT_DRILL_OPTIONS;
  const rotation = v.rotation ?? base.rotation;
  if (rotation !== 'handler' && rotation !== 'manual') throw new Error('--rotation must be handler or manual');
  const strategy = v.strategy ?? base.strategy;
  if (strategy !== 'single-user' && strategy !== 'alternating-users') {
    throw new Error('--strategy must be single-user or alternating-users');
  }
  const options: DrillOptions = {
    ...base,
    workers: int('workers', v.workers, base.workers),
    rotations: int('rotations', v.rotations, base.rotations),
    intervalMs: int('interval-ms', v['interval-ms'], base.intervalMs),
    warmupMs: int('warmup-ms', v['warmup-ms'], base.warmupMs),
    poolMax: int('pool-max', v['pool-max'], base.poolMax),
    idleTimeoutMs: int('idle-timeout-ms', v['idle-timeout-ms'], base.idleTimeoutMs),
    thinkMs: int('think-ms', v['think-ms'], base.thinkMs),
    windowMs: int('window-ms', v['window-ms'], base.windowMs),
    rotation,
    strategy,
  };
  const engines = (v.engines ?? 'postgres,mysql').split(',') as DrillEngine[];
  for (const e of engines) if (e !== 'postgres' && e !== 'mysql') throw new Error(`unknown engine ${e}`);
  const contenders = v.contenders
    ? v.contenders.split(',').flatMap((id) => (id === 'orms' ? ORM_CONTENDERS : [contenderById(id)]))
    : ALL_CONTENDERS;

  exitOnSignals();
  const started = Date.now();
  const sm = await startLocalSecretsManager({ port: 0 });
  const byEngine: Partial<Record<DrillEngine, ContenderResult[]>> = {};
  console.log(
    `rotation drill: ${options.workers} workers, ${options.rotations} rotations every ${options.intervalMs} ms, ` +
      `pool max ${options.poolMax}, idle timeout ${options.idleTimeoutMs} ms, window ${options.windowMs} ms, ` +
      `rotation=${options.rotation} (${options.strategy})`,
  );
  try {
    for (const engine of engines) {
      const server: StartedServer = engine === 'postgres' ? await startPostgres() : await useMariaDb();
      const results: ContenderResult[] = [];
      try {
        for (const spec of contenders) {
          console.log(`  ${engine} · ${spec.label}`);
          const r = await runContender({ sm, server, options, log: (l) => console.log(l) }, spec);
          results.push(r);
          console.log(
            r.unavailable
              ? `    unavailable: ${r.unavailable}`
              : `    ok ${r.queriesOk}, failed ${r.queriesFailed}, GetSecretValue ${r.getSecretValueCalls}`,
          );
          for (const sample of r.errorSamples.slice(0, 3)) console.log(`      ${sample}`);
          if (r.failedBeforeFirstRotation > 0) {
            console.log(`    WARNING: ${r.failedBeforeFirstRotation} queries failed before the first rotation`);
          }
        }
      } finally {
        await server.stop();
      }
      byEngine[engine] = results;
      console.log(`\n${formatTable(engine, results)}\n`);
    }
  } finally {
    await sm.close();
  }
  console.log(
    '† killed: queries in flight on a session the drill killed (same failover artefact for all; not in "failed")',
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`total ${seconds} s`);

  if (values['no-write']) return;
  const { file, date, commit } = await writeReport('drill', v.out, {
    totalSeconds: seconds,
    options,
    engines: Object.fromEntries(
      Object.entries(byEngine).map(([engine, results]) => {
        const base = results.find((r) => r.contender === 'dbcreds');
        return [
          engine,
          results.map((r) => ({ ...r, vsDbcreds: r.contender === 'dbcreds' ? null : ratiosAgainst(base, r) })),
        ];
      }),
    ),
  });
  for (const [engine, results] of Object.entries(byEngine)) {
    const svgFile = join(dirname(file), `drill-${engine === 'postgres' ? 'postgres' : 'mariadb'}.svg`);
    await writeFile(svgFile, drillChart(engine as DrillEngine, results, options, date, commit));
    console.log(`wrote ${svgFile}`);
  }
}

/** The SVG of one engine's run (bench/drill-chart.ts). */
function drillChart(engine: DrillEngine, results: ContenderResult[], o: DrillOptions, date: string, commit: string) {
  const name = engine === 'postgres' ? 'PostgreSQL (scram-sha-256)' : 'MariaDB';
  return renderDrillChart({
    title: `Rotation drill · ${name}`,
    subtitle:
      `${o.workers} workers, ${o.rotations} rotations (${o.strategy}, ${o.rotation}), pool ${o.poolMax}, ` +
      `idle timeout ${o.idleTimeoutMs} ms, window ${o.windowMs} ms · ${date.slice(0, 10)} · ${commit}`,
    contenders: results
      .filter((r) => !r.unavailable)
      .map((r) => ({
        label: r.contender,
        timeline: r.timeline,
        summary: `ok ${r.queriesOk} · failed ${r.queriesFailed} · GetSecretValue ${r.getSecretValueCalls}`,
      })),
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
