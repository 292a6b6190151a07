/**
 * `npm run bench -- fleet [flags]`: K processes (child processes, fleet-worker.ts), each with its own
 * dbcreds pool and credential source, against one local Secrets Manager and one database, while the
 * secret rotates R times and the short TTL expires several times per process. Reports GetSecretValue
 * calls (total, per process), failed queries, and a per-second histogram of the calls: how the TTL's
 * jitter spreads the refreshes. `--help` lists the flags.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { exitOnSignals, int, writeReport } from './cli.js';
import { DEFAULT_DRILL_OPTIONS, drillClient, readCurrent, registerRotator, rotate } from './drill-run.js';
import {
  createDrillAdmin,
  type DrillEngine,
  rdsSecretValue,
  type StartedServer,
  startPostgres,
  useMariaDb,
} from './drill-servers.js';
import type { FleetWorkerConfig, FleetWorkerResult, ParentMessage, WorkerMessage } from './fleet-worker.js';

export interface FleetOptions {
  sizes: number[];
  engine: DrillEngine;
  rotations: number;
  intervalMs: number;
  warmupMs: number;
  ttlMs: number;
  workers: number;
  poolMax: number;
  idleTimeoutMs: number;
  thinkMs: number;
  windowMs: number;
}

const DEFAULTS: FleetOptions = {
  sizes: [1, 4, 16],
  engine: 'postgres',
  rotations: 3,
  intervalMs: 8000,
  warmupMs: 2000,
  ttlMs: 6000,
  workers: 4,
  poolMax: 4,
  idleTimeoutMs: 100,
  thinkMs: 100,
  windowMs: 1000,
};

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

function waitFor(child: ChildProcess, type: WorkerMessage['type']): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`fleet worker exited with ${code} before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function runFleet(
  sm: LocalSecretsManager,
  server: StartedServer,
  o: FleetOptions,
  k: number,
  log: (l: string) => void,
): Promise<FleetResult> {
  const admin = await createDrillAdmin(server);
  const { client, gets } = drillClient(sm.endpoint);
  const user = await admin.createUser('fleet');
  const secretId = `bench/fleet/${k}/${randomUUID().slice(0, 8)}`;
  const lambdaArn = `arn:aws:lambda:us-east-1:000000000000:function:fleet-${randomUUID().slice(0, 8)}`;
  const children: ChildProcess[] = [];
  try {
    await client.send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: JSON.stringify(rdsSecretValue(server, user)),
      }),
    );
    registerRotator(sm, lambdaArn, client, { strategy: 'single-user', windowMs: o.windowMs }, () => {});
    const smBefore = sm.callCount('GetSecretValue');
    const benchBefore = gets();
    const cfg: FleetWorkerConfig = {
      engine: server.engine,
      endpoint: sm.endpoint,
      region: sm.region,
      secretId,
      ttlMs: o.ttlMs,
      server: { host: server.host, port: server.port, database: server.database },
      workers: o.workers,
      poolMax: o.poolMax,
      idleTimeoutMs: o.idleTimeoutMs,
      thinkMs: o.thinkMs,
    };
    for (let i = 0; i < k; i++) {
      // tsx's loader (and its tsconfig paths) come with execArgv / the environment.
      children.push(fork(WORKER, [JSON.stringify(cfg)], { execArgv: process.execArgv, stdio: 'inherit' }));
    }
    await Promise.all(children.map((c) => waitFor(c, 'ready')));
    // A process that dies (an uncaught error) is counted, not fatal to the run.
    const results = Promise.all(children.map((c) => waitFor(c, 'result').catch(() => undefined)));
    const t0 = Date.now();
    for (const c of children) c.send({ type: 'start' } satisfies ParentMessage);
    const rotationsAtMs: number[] = [];
    for (let i = 0; i < o.rotations; i++) {
      const wait = o.warmupMs + i * o.intervalMs - (Date.now() - t0);
      if (wait > 0) await sleep(wait);
      rotationsAtMs.push(Date.now() - t0);
      const before = await readCurrent(client, secretId);
      await rotate(
        { ...DEFAULT_DRILL_OPTIONS, rotation: 'handler', windowMs: o.windowMs },
        sm,
        client,
        admin,
        secretId,
        lambdaArn,
        before,
        () => {},
      );
      await admin.killIdleSessions(user.username);
      log(`    rotation ${i + 1}/${o.rotations} at ${(rotationsAtMs[i]! / 1000).toFixed(1)} s`);
    }
    const wait = o.warmupMs + o.rotations * o.intervalMs - (Date.now() - t0);
    if (wait > 0) await sleep(wait);
    const durationMs = Date.now() - t0;
    for (const c of children) c.send({ type: 'stop' } satisfies ParentMessage);
    const messages = await results;
    const rs = messages.flatMap((m) => (m ? [(m as { result: FleetWorkerResult }).result] : []));
    const perProcess = rs.map((r) => r.getSecretValueAt.length);
    return {
      processes: k,
      crashed: k - rs.length,
      durationMs,
      queriesOk: rs.reduce((a, r) => a + r.ok, 0),
      queriesFailed: rs.reduce((a, r) => a + r.failed, 0),
      killedInFlight: rs.reduce((a, r) => a + r.killed, 0),
      getSecretValue: perProcess.reduce((a, b) => a + b, 0),
      getSecretValueServer: sm.callCount('GetSecretValue') - smBefore - (gets() - benchBefore),
      perProcess: { min: Math.min(...perProcess), median: median(perProcess), max: Math.max(...perProcess) },
      histogram: histogram(
        rs.flatMap((r) => r.getSecretValueAt),
        t0,
        durationMs,
      ),
      rotationsAtMs,
      errorSamples: [...new Set(rs.flatMap((r) => r.errorSamples))].slice(0, 5),
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    await admin.dropUser(user.username).catch(() => {});
    await admin.close().catch(() => {});
    client.destroy();
  }
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
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])),
      'no-write': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  const v = values as Record<string, string | undefined>;
  if (values.help) {
    console.log(HELP);
    return;
  }
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
