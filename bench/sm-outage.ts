/**
 * `npm run bench -- sm-outage [flags]`: recovery after a Secrets Manager outage that overlapped a rotation.
 *
 * Per run: 8 workers query a dbcreds pool (default source options, `awaitRotationMs` 10 s); the
 * user's idle sessions are ended every 500 ms (new logins throughout); Secrets Manager answers HTTP
 * 500 (the test bed's fault proxy) for `--fault-ms`; inside the fault a single-user rotation runs
 * (AWSPENDING, the server's password, AWSCURRENT moves) directly on the local Secrets Manager. Measured:
 * recovery (the new version installed, ms after the fault cleared), failed queries after the clear,
 * GetSecretValue requests on the wire. Prints min/median/max per engine and writes bench/results/sm-outage-<date>.json.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { createCredentialSource } from '@dbcreds/core';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { startFaultProxy } from '../test/src/fault-proxy.js';
import { exitOnSignals, int, parseFlags, writeReport } from './cli.js';
import { clientConfig } from './drill-run.js';
import {
  createDrillAdmin,
  type DrillEngine,
  type DrillServer,
  randomPassword,
  rdsSecretValue,
  startPostgres,
  useMariaDb,
} from './drill-servers.js';

const HELP = `Usage: npm run bench -- sm-outage [flags]

  --engines <list>     postgres,mysql (default both)
  --runs <n>           runs per engine (default 5)
  --fault-ms <ms>      how long Secrets Manager answers 500 (default 3000)
  --workers <n>        concurrent query loops (default 8)
  --kill-every-ms <ms> end the user's idle sessions this often (default 500)
  --out <file>         JSON output (default bench/results/sm-outage-<date>.json)
  --no-write           print only
  --help`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  /** ms from the fault's clear to the new version's install (the 'rotated' event). */
  recoveryMs: number;
  /** ms from the clear to the end of the last failed query (0: none failed after the clear). */
  lastFailureMs: number;
  /** Failed queries other than `connectionLost`: during the fault, after the clear. */
  failedDuring: number;
  /** Queries on a session the idle kill ended as the pool handed it out (not credential failures). */
  connectionLost: number;
  failedAfterClear: number;
  /** Failed queries that started after the recovery. */
  failedAfterRecovery: number;
  queries: number;
  /** GetSecretValue requests the proxy saw during the fault, and from the clear to the recovery. */
  wireDuring: number;
  wireToRecovery: number;
  /** Distinct errors (codes) of the queries that failed after the clear. */
  errorsAfterClear: (string | undefined)[];
}

interface Options {
  faultMs: number;
  workers: number;
  killEveryMs: number;
}

async function oneRun(engine: DrillEngine, server: DrillServer, sm: { endpoint: string }, o: Options): Promise<Run> {
  const admin = await createDrillAdmin(server);
  const login = await admin.createUser('smo');
  const direct = new SecretsManagerClient(clientConfig(sm.endpoint));
  const proxy = await startFaultProxy({ target: sm.endpoint });
  const wire: { at: number }[] = [];
  proxy.onRequest((r) => {
    if (r.target === 'secretsmanager.GetSecretValue') wire.push({ at: Date.now() });
  });
  const secretId = `smo-${engine}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await direct.send(
    new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify(rdsSecretValue(server, login)) }),
  );
  const client = new SecretsManagerClient(clientConfig(proxy.endpoint));
  const source = createCredentialSource({ secretId, client, awaitRotationMs: 10_000 });
  let rotatedAt = Number.POSITIVE_INFINITY;
  source.on('rotated', () => {
    if (rotatedAt === Number.POSITIVE_INFINITY) rotatedAt = Date.now();
  });
  const samples: { start: number; end: number; ok: boolean; error?: string }[] = [];
  let query: () => Promise<unknown>;
  let end: () => Promise<void>;
  if (engine === 'postgres') {
    const pool = createPgPool(source, { max: 8, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => {}); // idle sessions ended by the server
    query = () => pool.query('SELECT 1');
    end = () => pool.end();
  } else {
    const pool = createMysqlPool(source, { connectionLimit: 8, connectTimeout: 10_000 }).promise();
    query = () => pool.query('SELECT 1');
    end = () => pool.end();
  }
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const s: (typeof samples)[number] = { start: Date.now(), end: 0, ok: false };
      try {
        await query();
        s.ok = true;
      } catch (err) {
        s.error = String((err as { code?: unknown }).code ?? (err as Error).message).slice(0, 80);
      }
      s.end = Date.now();
      samples.push(s);
      await sleep(Math.random() * 20);
    }
  };
  const killer = async () => {
    while (!stop) {
      await sleep(o.killEveryMs);
      await admin.killIdleSessions(login.username).catch(() => 0);
    }
  };
  await source.get();
  const loops = Promise.all([killer(), ...Array.from({ length: o.workers }, worker)]);
  await sleep(1_000);
  const tFault = Date.now();
  await proxy.setMode('http500');
  // Single-user rotation behind the fault: createSecret, setSecret, finishSecret.
  const next = { username: login.username, password: randomPassword() };
  const put = await direct.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: JSON.stringify(rdsSecretValue(server, next)),
      VersionStages: ['AWSPENDING'],
    }),
  );
  await admin.setPassword(login.username, next.password);
  await admin.expectLoginRejected(login);
  const current = (await direct.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages;
  const currentId = Object.entries(current ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
  await direct.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: put.VersionId,
      RemoveFromVersionId: currentId,
    }),
  );
  await sleep(tFault + o.faultMs - Date.now());
  await proxy.setMode('pass');
  const tClear = Date.now();
  const deadline = tClear + 30_000;
  while (
    Date.now() < deadline &&
    (rotatedAt === Number.POSITIVE_INFINITY || Date.now() < Math.max(rotatedAt, tClear) + 2_000)
  ) {
    await sleep(50);
  }
  stop = true;
  await loops;
  await end();
  source.close();
  client.destroy();
  direct.destroy();
  await proxy.close();
  await admin.dropUser(login.username).catch(() => {});
  await admin.close();
  // A session ended by the idle kill just as the pool handed it out (mysql2 has no retry for that; @dbcreds/pg
  // retries 57P01): counted apart, it happens without any outage.
  const lost = (s: (typeof samples)[number]) => s.error === 'PROTOCOL_CONNECTION_LOST' || s.error === '57P01';
  const failedAfter = samples.filter((s) => !s.ok && !lost(s) && s.end >= tClear);
  return {
    recoveryMs: rotatedAt - tClear,
    lastFailureMs: failedAfter.length === 0 ? 0 : Math.max(...failedAfter.map((s) => s.end)) - tClear,
    failedDuring: samples.filter((s) => !s.ok && !lost(s) && s.end >= tFault && s.end < tClear).length,
    connectionLost: samples.filter(lost).length,
    failedAfterClear: failedAfter.length,
    failedAfterRecovery: samples.filter((s) => !s.ok && !lost(s) && s.start > rotatedAt).length,
    errorsAfterClear: [...new Set(failedAfter.map((s) => s.error))].slice(0, 3),
    queries: samples.length,
    wireDuring: wire.filter((w) => w.at >= tFault && w.at < tClear).length,
    wireToRecovery: wire.filter((w) => w.at >= tClear && w.at <= rotatedAt).length,
  };
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? 0, median: s[Math.floor((s.length - 1) / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
}

function fmt(xs: number[]): string {
  const { min, median, max } = stats(xs);
  return `${min} / ${median} / ${max}`;
}

async function main(): Promise<void> {
  const flags = parseFlags(['engines', 'runs', 'fault-ms', 'workers', 'kill-every-ms', 'out'], HELP);
  if (!flags) return;
  const { v, values } = flags;
  const runs = int('runs', v.runs, 5, 1);
  const o: Options = {
    faultMs: int('fault-ms', v['fault-ms'], 3_000, 1),
    workers: int('workers', v.workers, 8, 1),
    killEveryMs: int('kill-every-ms', v['kill-every-ms'], 500, 1),
  };
  const engines = (v.engines ?? 'postgres,mysql').split(',') as DrillEngine[];
  for (const e of engines) if (e !== 'postgres' && e !== 'mysql') throw new Error(`unknown engine ${e}`);
  exitOnSignals();
  const sm = await startLocalSecretsManager({ port: 0 });
  const results: Record<string, Run[]> = {};
  console.log(
    `sm-outage: ${runs} runs per engine, Secrets Manager answers 500 for ${o.faultMs} ms around a rotation, ` +
      `${o.workers} workers, idle sessions ended every ${o.killEveryMs} ms`,
  );
  try {
    for (const engine of engines) {
      const server = engine === 'postgres' ? await startPostgres() : await useMariaDb();
      const rs: Run[] = [];
      try {
        for (let i = 0; i < runs; i++) {
          const r = await oneRun(engine, server, sm, o);
          rs.push(r);
          console.log(`  ${engine} run ${i + 1}: ${JSON.stringify(r)}`);
        }
      } finally {
        await server.stop();
      }
      results[engine] = rs;
      console.log(
        `${engine}: recovery after the clear (ms, min / median / max) ${fmt(rs.map((r) => r.recoveryMs))}; ` +
          `failed after the clear ${fmt(rs.map((r) => r.failedAfterClear))} (+ connection lost to the idle kill ${fmt(rs.map((r) => r.connectionLost))}); ` +
          `GetSecretValue during the fault ${fmt(rs.map((r) => r.wireDuring))}, clear→recovery ${fmt(rs.map((r) => r.wireToRecovery))}`,
      );
    }
  } finally {
    await sm.close();
  }
  if (!values['no-write']) {
    await writeReport('sm-outage', v.out, { options: { runs, ...o }, results });
  }
}

await main();
