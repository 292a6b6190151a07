/**
 * `npm run bench -- soak [flags]` (or `pnpm --filter @dbcreds/bench soak`): continuous load through
 * the adapters on PostgreSQL (a private embedded server) and MariaDB (the local one), a rotation every
 * few seconds alternating single-user and alternating-users (RotateSecret → @dbcreds/rotation), and
 * Secrets Manager faults sprinkled in (the test bed's HTTP fault proxy between the app and the local
 * Secrets Manager: 500, throttling, garbage, reset, refused, 2 s latency). Every 10 s it samples
 * queries ok/failed, heap, RSS, active handles and GetSecretValue calls; at the end it prints the
 * failures by class (credential = an auth error reached the caller), heap and RSS slopes (MB/min after
 * the first minute) and writes bench/results/soak-<date>.json. `--help` lists the flags.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type CredentialSource, createCredentialSource, isAuthError } from '@dbcreds/core';
import { withRotatingCredentials as knexCredentials } from '@dbcreds/knex';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { withRotatingCredentials as typeormCredentials } from '@dbcreds/typeorm';
import { type FaultMode, type FaultProxy, startFaultProxy } from '../test/src/fault-proxy.js';
import { type LocalStack, mysqlServerFromEnv, startLocalStack } from 'dbcreds/testing';
import { parseFlags } from './cli.js';

const HELP = `Usage: npm run bench -- soak [flags]   (pnpm --filter @dbcreds/bench soak [flags])

  --minutes <n>          duration (default 3; an hour: --minutes 60)
  --rotate-every-s <n>   seconds between rotations, strategies alternate (default 5)
  --fault-every-s <n>    seconds between Secrets Manager faults, each lasting 3 s (default 20; 0: none)
  --workers <n>          concurrent workers per adapter and engine (default 2)
  --engines <list>       postgres,mysql (default both; mysql needs the local MariaDB)
  --out <file>           JSON output (default bench/results/soak-<date>.json)
  --no-write             print only`;

const FAULTS: FaultMode[] = ['http500', 'throttle', 'garbage', 'reset', 'refuse', 'latency'];
const SAMPLE_MS = 10_000;
const here = dirname(fileURLToPath(import.meta.url));
// The ORMs are the adapters' peers: load them from the adapter packages (bench does not depend on them).
const fromPackage = (pkg: string, id: string) => createRequire(join(here, '..', 'packages', pkg, 'package.json'))(id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Adapter {
  name: string;
  query(): Promise<unknown>;
  close(): Promise<void>;
}

async function adapters(stack: LocalStack, source: CredentialSource): Promise<Adapter[]> {
  const pg = stack.engine === 'postgres';
  const endpoint = { host: stack.database.host, port: stack.database.port, database: stack.database.dbname };
  const out: Adapter[] = [];
  if (pg) {
    const pool = createPgPool(source, { ...endpoint, max: 4, idleTimeoutMillis: 1_000 });
    out.push({ name: 'pg', query: () => pool.query('SELECT 1'), close: () => pool.end() });
  } else {
    const pool = createMysqlPool(source, { ...endpoint, connectionLimit: 4, maxIdle: 0, idleTimeout: 1_000 }).promise();
    out.push({ name: 'mysql2', query: () => pool.query('SELECT 1'), close: () => pool.end() });
  }
  const knexModule = fromPackage('knex', 'knex');
  const knex = knexModule.knex ?? knexModule.default ?? knexModule;
  const db = knex(
    knexCredentials(
      {
        client: pg ? 'pg' : 'mysql2',
        connection: endpoint,
        pool: { min: 0, max: 4, idleTimeoutMillis: 1_000 },
        log: { warn() {} },
      },
      source,
    ),
  );
  out.push({ name: 'knex', query: () => db.raw('SELECT 1'), close: () => db.destroy() });
  const { DataSource } = fromPackage('typeorm', 'typeorm');
  const ds = new DataSource(
    typeormCredentials(
      pg
        ? { type: 'postgres', ...endpoint, extra: { idleTimeoutMillis: 1_000, max: 4 } }
        : { type: 'mariadb', ...endpoint, extra: { maxIdle: 0, idleTimeout: 1_000, connectionLimit: 4 } },
      source,
    ),
  );
  await ds.initialize();
  out.push({ name: 'typeorm', query: () => ds.query('SELECT 1'), close: () => ds.destroy() });
  return out;
}

interface Counts {
  ok: number;
  credential: number;
  /** Credential failures while Secrets Manager was faulted (or within 5 s after): nobody can read the new password. */
  credentialDuringFault: number;
  other: number;
  codes: Record<string, number>;
}

function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const flags = parseFlags(['minutes', 'rotate-every-s', 'fault-every-s', 'workers', 'engines', 'out'], HELP);
  if (!flags) return;
  const { v, values } = flags;
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const minutes = num(v.minutes, 3);
  const rotateEveryMs = num(v['rotate-every-s'], 5) * 1_000;
  const faultEveryMs = num(v['fault-every-s'], 20) * 1_000;
  const workers = num(v.workers, 2);
  const engines = (v.engines ?? 'postgres,mysql').split(',') as Array<'postgres' | 'mysql'>;
  for (const [k, v] of Object.entries({ minutes, rotateEveryMs, faultEveryMs, workers })) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: not a non-negative number`);
  }

  const started = Date.now();
  const stacks: LocalStack[] = [];
  const proxies: FaultProxy[] = [];
  const sources: CredentialSource[] = [];
  const clients: SecretsManagerClient[] = [];
  const running: Array<{ engine: string; adapter: Adapter; counts: Counts }> = [];
  for (const engine of engines) {
    const stack = await startLocalStack(engine === 'mysql' ? { engine, server: mysqlServerFromEnv() } : { engine });
    stacks.push(stack);
    const proxy = await startFaultProxy({ target: stack.endpoint, protocol: 'http', latencyMs: 2_000 });
    proxies.push(proxy);
    const client = new SecretsManagerClient({ ...stack.clientConfig, endpoint: proxy.endpoint, maxAttempts: 2 });
    clients.push(client);
    // A short TTL so the cache expires inside faults: stale-while-revalidate and retries are exercised.
    const source = createCredentialSource({ secretId: stack.secretId, client, ttlMs: 2_000 });
    sources.push(source);
    for (const adapter of await adapters(stack, source)) {
      running.push({
        engine,
        adapter,
        counts: { ok: 0, credential: 0, credentialDuringFault: 0, other: 0, codes: {} },
      });
    }
  }
  const loadStarted = Date.now(); // after the servers started: the time axis of the samples
  const deadline = loadStarted + minutes * 60_000;
  let stopping = false;
  let faultShadowUntil = 0;
  const work = async (r: (typeof running)[number]) => {
    while (!stopping) {
      try {
        await r.adapter.query();
        r.counts.ok++;
      } catch (err) {
        const e = err as { code?: unknown; errno?: unknown };
        const code = String(e?.code ?? e?.errno ?? 'unknown');
        r.counts.codes[code] = (r.counts.codes[code] ?? 0) + 1;
        if (isAuthError(err)) {
          r.counts.credential++;
          if (Date.now() < faultShadowUntil) r.counts.credentialDuringFault++;
        } else r.counts.other++;
        await sleep(20);
      }
      await sleep(Math.random() * 5);
    }
  };
  const loads = running.flatMap((r) => Array.from({ length: workers }, () => work(r)));

  let rotations = 0;
  let rotationFailures = 0;
  const rotator = (async () => {
    while (!stopping) {
      await sleep(rotateEveryMs);
      if (stopping) break;
      const strategy = rotations % 2 === 0 ? 'single-user' : 'alternating-users';
      await Promise.all(
        stacks.map((s) =>
          s.rotate(strategy).then(
            () => undefined,
            () => {
              rotationFailures++;
            },
          ),
        ),
      );
      rotations++;
    }
  })();
  let faults = 0;
  const faulter = (async () => {
    if (faultEveryMs === 0) return;
    while (!stopping) {
      await sleep(faultEveryMs);
      if (stopping) break;
      const mode = FAULTS[faults++ % FAULTS.length]!;
      faultShadowUntil = Number.POSITIVE_INFINITY;
      await Promise.all(proxies.map((p) => p.setMode(mode)));
      await sleep(3_000);
      await Promise.all(proxies.map((p) => p.setMode('pass')));
      faultShadowUntil = Date.now() + 5_000;
    }
  })();

  const samples: Array<Record<string, number>> = [];
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({
      tMin: (Date.now() - loadStarted) / 60_000,
      heapMb: m.heapUsed / 1e6,
      rssMb: m.rss / 1e6,
      handles: process.getActiveResourcesInfo().length,
      getSecretValue: stacks.reduce((a, s) => a + s.sm.callCount('GetSecretValue'), 0),
      ok: running.reduce((a, r) => a + r.counts.ok, 0),
      failed: running.reduce((a, r) => a + r.counts.credential + r.counts.other, 0),
      rotations,
      faults,
    });
    const last = samples.at(-1)!;
    console.log(
      `[soak] ${last.tMin!.toFixed(1)} min: ok=${last.ok} failed=${last.failed} heap=${last.heapMb!.toFixed(1)} MB ` +
        `rss=${last.rssMb!.toFixed(1)} MB handles=${last.handles} GetSecretValue=${last.getSecretValue} ` +
        `rotations=${rotations} faults=${faults}`,
    );
  };
  sample();
  while (Date.now() < deadline) {
    await sleep(Math.min(SAMPLE_MS, deadline - Date.now()));
    sample();
  }
  stopping = true;
  await Promise.all([...loads, rotator, faulter]);
  for (const r of running) await r.adapter.close().catch(() => undefined);
  for (const s of sources) s.close();
  for (const c of clients) c.destroy();
  for (const p of proxies) await p.close();
  for (const s of stacks) await s.close();

  const steady = samples.filter((s) => s.tMin! >= Math.min(1, minutes / 3));
  const report = {
    date: new Date().toISOString(),
    minutes,
    setupS: (loadStarted - started) / 1_000,
    rotateEveryS: rotateEveryMs / 1_000,
    faultEveryS: faultEveryMs / 1_000,
    workersPerAdapter: workers,
    rotations,
    rotationFailures,
    faults,
    adapters: running.map((r) => ({ engine: r.engine, adapter: r.adapter.name, ...r.counts })),
    heapSlopeMbPerMin: slope(steady.map((s) => [s.tMin!, s.heapMb!])),
    rssSlopeMbPerMin: slope(steady.map((s) => [s.tMin!, s.rssMb!])),
    handles: {
      first: samples[0]!.handles,
      last: samples.at(-1)!.handles,
      max: Math.max(...samples.map((s) => s.handles!)),
    },
    samples,
  };
  console.log('\nadapter            ok        credential-failed (during SM fault)  other-failed  codes');
  for (const a of report.adapters) {
    console.log(
      `${`${a.engine}/${a.adapter}`.padEnd(18)} ${String(a.ok).padEnd(9)} ` +
        `${`${a.credential} (${a.credentialDuringFault})`.padEnd(36)} ` +
        `${String(a.other).padEnd(13)} ${JSON.stringify(a.codes)}`,
    );
  }
  console.log(
    `rotations ${rotations} (failed ${rotationFailures}), SM faults ${faults}, heap slope ${report.heapSlopeMbPerMin.toFixed(2)} MB/min, ` +
      `RSS slope ${report.rssSlopeMbPerMin.toFixed(2)} MB/min, handles ${report.handles.first} → ${report.handles.last} (max ${report.handles.max})`,
  );
  if (!values['no-write']) {
    const file = v.out ?? join(here, 'results', `soak-${report.date.slice(0, 19).replace(/[:T]/g, '-')}.json`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
  // A login while Secrets Manager is down after a rotation cannot succeed; any other credential failure is a bug.
  if (report.adapters.some((a) => a.credential > a.credentialDuringFault)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
