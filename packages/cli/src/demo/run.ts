import { setTimeout as sleep } from 'node:timers/promises';
import { CancelRotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, type CredentialSource, createCredentialSource } from '@dbcreds/core';
import type { RotationStrategy } from '@dbcreds/rotation';
import type { DemoArgs, EngineName } from '../args.js';
import { createDbAdmin } from '../stack/admin.js';
import { type LocalStack, mysqlServerFromEnv, startLocalStack } from '../stack/local-stack.js';
import type { ServerInfo } from '../stack/types.js';
import { createView, type DemoSnapshot, type Output, table } from '../view.js';
import { libraryByName } from '../libraries/catalog.js';
import type { LibraryClient } from '../libraries/types.js';
import { type Load, noteStep, startLoad } from './load.js';
import { demoPackages, requirePackages } from './peers.js';

export interface DemoIo {
  out: Output;
  /** Aborting stops the demo cleanly (exit status 130). */
  signal?: AbortSignal;
}

/** Exit statuses of `dbcreds demo`. */
export const DEMO_EXIT = { ok: 0, failed: 1, interrupted: 130 } as const;

/** The rotation order: `rotations` per strategy; `both` runs the single-user ones first, then alternating-users. */
export function rotationPlan(strategy: DemoArgs['strategy'], rotations: number): RotationStrategy[] {
  if (strategy !== 'both') return Array.from({ length: rotations }, () => strategy);
  return Array.from({ length: 2 * rotations }, (_, i) => (i < rotations ? 'single-user' : 'alternating-users'));
}

interface Progress {
  done: number;
  perStrategy: Record<RotationStrategy, number>;
  proofsOk: number;
  proofsFailed: number;
  killed: number;
  lastAt: number;
}

/** The outcome of the demo on one engine: the summary column and the verdict. */
interface EngineRun {
  engine: EngineName;
  /** Summary rows (label, value), the same labels in the same order for every engine. */
  rows: Array<[string, string]>;
  pass: boolean;
  interrupted: boolean;
  samples: string[];
  error: string | undefined;
}

/** The engines `--engine` asks for, in run order (`auto`: postgres first, mysql when reachable). */
export function demoEngines(engine: DemoArgs['engine']): EngineName[] {
  return engine === 'auto' ? ['postgres', 'mysql'] : [engine];
}

const where = (s: ServerInfo) => `${s.host}:${s.port} (as ${s.adminUser})`;

/**
 * Whether the MariaDB/MySQL server answers an admin login within `timeoutMs` (default 1000):
 * null when it does, else why not (the driver's message; never the password).
 */
export async function probeMysql(server: ServerInfo = mysqlServerFromEnv(), timeoutMs = 1000): Promise<string | null> {
  const admin = createDbAdmin(server);
  try {
    const err = await Promise.race([
      admin.tryLogin(
        { username: server.adminUser, password: server.adminPassword },
        { database: server.database, timeoutMs },
      ),
      sleep(timeoutMs + 250, new Error(`no answer within ${timeoutMs} ms`), { ref: false }),
    ]);
    if (!err) return null;
    const code = (err as { code?: unknown }).code;
    const message = err.message || err.name;
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  } finally {
    await admin.close().catch(() => {});
  }
}

/** `dbcreds demo`: see DEMO_HELP. Resolves with the exit status; never throws for demo failures. */
export async function runDemo(args: DemoArgs, io: DemoIo): Promise<number> {
  const began = Date.now();
  const engines = demoEngines(args.engine);
  let skipped: string | undefined;
  if (engines.includes('mysql')) {
    const server = mysqlServerFromEnv();
    const why = await probeMysql(server);
    if (io.signal?.aborted) return DEMO_EXIT.interrupted;
    if (why !== null && args.engine === 'mysql') {
      io.out.write(
        `MariaDB/MySQL not reachable at ${where(server)}: ${why}\n` +
          'set DBCREDS_MYSQL_HOST, DBCREDS_MYSQL_PORT, DBCREDS_MYSQL_USER, DBCREDS_MYSQL_PASSWORD, or use --engine postgres\n',
      );
      return DEMO_EXIT.failed;
    }
    if (why !== null) {
      engines.splice(engines.indexOf('mysql'), 1);
      skipped = `MariaDB not reachable at ${where(server)}`;
      io.out.write(`${skipped}: ${why}: skipping (use --engine mysql to require it)\n`);
    }
  }
  try {
    requirePackages(demoPackages(args.orm, engines), `dbcreds demo --orm ${args.orm} on ${engines.join(' and ')}`);
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    io.out.write(`${err.message}\n`);
    return DEMO_EXIT.failed;
  }
  if (engines.length > 1) io.out.write(`engines: ${engines.join(', then ')} (one after the other)\n`);
  const runs: EngineRun[] = [];
  for (const [i, engine] of engines.entries()) {
    if (io.signal?.aborted) break;
    const step = engines.length > 1 ? ` (${i + 1}/${engines.length})` : '';
    runs.push(await runOnEngine(args, engine, step, io));
  }

  const interrupted = io.signal?.aborted === true || runs.some((r) => r.interrupted);
  const pass = !interrupted && runs.length === engines.length && runs.every((r) => r.pass);
  const verdict = interrupted ? 'INTERRUPTED' : pass ? 'PASS' : 'FAIL';
  const labels = runs[0]?.rows.map(([label]) => label) ?? [];
  const rows = [
    ['', ...runs.map((r) => r.engine)],
    ...labels.map((label, i) => [label, ...runs.map((r) => r.rows[i]![1])]),
    [
      'overall',
      `${verdict} in ${((Date.now() - began) / 1000).toFixed(1)}s${skipped ? ` (mysql skipped: ${skipped})` : ''}`,
    ],
  ];
  io.out.write(`\n${table(rows)}\n`);
  for (const r of runs) {
    for (const sample of r.samples) io.out.write(`failure (${r.engine}): ${sample}\n`);
    if (r.error) io.out.write(`error (${r.engine}): ${r.error}\n`);
  }
  if (interrupted) return DEMO_EXIT.interrupted;
  return pass ? DEMO_EXIT.ok : DEMO_EXIT.failed;
}

/** The demo on one engine: its own stack, load and live view; cleans up before resolving. */
async function runOnEngine(args: DemoArgs, engine: EngineName, step: string, io: DemoIo): Promise<EngineRun> {
  const title = `dbcreds demo: ${args.orm} on ${engine === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'}${step}`;
  const view = createView(io.out, { plain: args.plain });
  const plan = rotationPlan(args.strategy, args.rotations);
  const progress: Progress = {
    done: 0,
    perStrategy: { 'single-user': 0, 'alternating-users': 0 },
    proofsOk: 0,
    proofsFailed: 0,
    killed: 0,
    lastAt: 0,
  };
  const snap: DemoSnapshot = {
    title,
    phase: 'starting',
    elapsedMs: 0,
    durationMs: args.durationMs,
    ok: 0,
    failed: 0,
    rotationsDone: 0,
    rotationsPlanned: plan.length,
    secretVersion: '-',
    secretUser: '-',
    appVersion: '-',
    appUser: '-',
    appGetSecretValue: 0,
    totalGetSecretValue: 0,
  };
  let stack: LocalStack | undefined;
  let load: Load | undefined;
  let app: LibraryClient | undefined;
  let source: CredentialSource | undefined;
  let appClient: SecretsManagerClient | undefined;
  let startedAt = 0;
  let error: string | undefined;

  const forceReconnect = async (why: string) => {
    if (!stack || !load) return;
    await load.pause();
    try {
      const n = await stack.admin.killSessions([...stack.usernames]);
      progress.killed += n;
      await sleep(100); // let the pools see the closed sockets before new checkouts
      view.event(`  ${why}: ended ${n} idle session(s), new connections must log in`);
    } finally {
      load.resume();
    }
  };

  const onRotationStep = async (step: string, strategy: RotationStrategy) => {
    if (!stack) return;
    const k = progress.done + 1;
    if (step === 'setSecret' && strategy === 'single-user') {
      // The rotation window: the server has the new password, AWSCURRENT still the old one. Hold the
      // rotation here until the app has served queries on fresh connections (AWSPENDING fallback).
      await forceReconnect(`rotation ${k} (${strategy}) password changed, AWSCURRENT not moved yet`);
      const target = (load?.stats.ok ?? 0) + args.workers;
      const until = Date.now() + 2000;
      while ((load?.stats.ok ?? target) < target && Date.now() < until) await sleep(10);
    }
    if (step !== 'finishSecret') return;
    const current = await stack.credentials('AWSCURRENT');
    snap.secretVersion = current.versionId;
    snap.secretUser = current.username;
    view.event(
      `rotation ${k}/${plan.length} done (${strategy}): AWSCURRENT ${current.versionId.slice(0, 8)} user ${current.username}`,
    );
    if (strategy === 'single-user') {
      const previous = await stack.credentials('AWSPREVIOUS');
      const code = await stack.admin.loginError(previous, stack.database.dbname);
      if (code) {
        progress.proofsOk++;
        view.event(`  proof: the old password of ${previous.username} is rejected by the server (${code})`);
      } else {
        progress.proofsFailed++;
        view.event(`  PROOF FAILED: the old password of ${previous.username} still logs in`);
      }
    }
    await forceReconnect(`rotation ${k}`);
    progress.perStrategy[strategy]++;
    progress.done++;
    progress.lastAt = Date.now();
  };

  const cleanup = async () => {
    await load?.stop().catch(() => {});
    await app?.close().catch(() => {});
    source?.close();
    appClient?.destroy();
    await stack?.close();
  };

  try {
    view.event(`${title}: ${args.workers} workers, ${plan.length} rotation(s) every ${args.intervalSeconds}s`);
    view.event(
      `starting ${engine === 'postgres' ? 'embedded PostgreSQL (scram-sha-256)' : 'MySQL/MariaDB user'} and the local Secrets Manager...`,
    );
    stack = await startLocalStack({ engine, onRotationStep });
    if (io.signal?.aborted) throw new Error('interrupted during start-up');
    const initial = await stack.credentials('AWSCURRENT');
    snap.secretVersion = initial.versionId;
    snap.secretUser = initial.username;
    view.event(
      `secret ${stack.secretId} at ${stack.endpoint} (database ${stack.database.dbname} on ${stack.database.host}:${stack.database.port})`,
    );

    let appGets = 0;
    appClient = new SecretsManagerClient({ ...stack.clientConfig, maxAttempts: 1 });
    appClient.middlewareStack.add(
      (next, context) => async (a) => {
        if (context.commandName === 'GetSecretValueCommand') appGets++;
        return next(a);
      },
      { step: 'initialize', name: 'dbcredsDemoCounter' },
    );
    const appSource = createCredentialSource({ secretId: stack.secretId, client: appClient });
    source = appSource;
    const track = () => {
      appSource.get().then(
        (c) => {
          snap.appVersion = c.versionId;
          snap.appUser = c.username;
        },
        () => {},
      );
    };
    appSource.on('refreshed', track);

    app = await libraryByName(args.orm).connect({
      engine,
      source: appSource,
      host: stack.database.host,
      port: stack.database.port,
      database: stack.database.dbname,
      // Idle connections close after 500 ms, so rotations bite.
      pool: { max: Math.max(2, Math.ceil(args.workers / 2)), idleTimeoutMs: 500 },
      workload: 'notes',
    });
    await noteStep(app, 0, 0); // fail fast on setup errors, before the clock starts
    track();

    startedAt = Date.now();
    load = startLoad(app, { workers: args.workers });
    const refresh = () => {
      snap.elapsedMs = Date.now() - startedAt;
      snap.ok = load?.stats.ok ?? 0;
      snap.failed = load?.stats.failed ?? 0;
      snap.rotationsDone = progress.done;
      snap.appGetSecretValue = appGets;
      snap.totalGetSecretValue = stack?.sm.callCount('GetSecretValue') ?? 0;
      return snap;
    };
    snap.phase = 'running';
    view.start(refresh);

    let scheduled: RotationStrategy | undefined;
    let cancelled = false;
    const deadline = startedAt + args.durationMs + plan.length * args.intervalSeconds * 2000 + 30_000;
    const tailMs = 1500;
    while (!io.signal?.aborted) {
      const now = Date.now();
      if (progress.done >= plan.length) {
        if (!cancelled) {
          cancelled = true;
          await stack.client.send(new CancelRotateSecretCommand({ SecretId: stack.secretId })).catch(() => {}); // rotation schedule off; a late extra rotation would be harmless anyway
        }
        if (now - startedAt >= args.durationMs && now - progress.lastAt >= tailMs) break;
      } else {
        const want = plan[progress.done]!;
        if (want !== scheduled) {
          try {
            await stack.schedule(want, args.intervalSeconds);
            scheduled = want;
            view.event(
              `rotation schedule: ${want} every ${args.intervalSeconds}s (rate(${args.intervalSeconds} seconds))`,
            );
          } catch (err) {
            if (now > deadline) throw err;
          }
        }
        const failure = stack.sm.lastRotationError(stack.secretId);
        if (failure) throw new Error(`rotation failed at ${failure.step}: ${failure.message}`);
      }
      if (now > deadline) throw new Error(`only ${progress.done} of ${plan.length} rotations happened in time`);
      await sleep(100);
    }
    view.stop();
    await load.stop();
    refresh();
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    view.stop();
  } finally {
    snap.phase = 'stopping';
    await cleanup().catch((err) => {
      error ??= `cleanup: ${(err as Error).message}`;
    });
  }

  const stats = load?.stats ?? { ok: 0, failed: 0, failures: {}, samples: [] };
  const interrupted = io.signal?.aborted === true;
  const rotationsOk = progress.done >= plan.length;
  const pass =
    !error && !interrupted && stats.failed === 0 && stats.ok > 0 && rotationsOk && progress.proofsFailed === 0;
  const sourceStats = source?.stats();
  const secondsRun = startedAt ? ((Date.now() - startedAt) / 1000).toFixed(1) : '0';
  const singlePlanned = plan.filter((s) => s === 'single-user').length;
  return {
    engine,
    rows: [
      ['library / engine', `${args.orm} / ${engine}`],
      ['load', `${args.workers} workers for ${secondsRun}s`],
      ['queries ok', String(stats.ok)],
      ['queries failed', String(stats.failed) + (stats.failed ? ` ${JSON.stringify(stats.failures)}` : '')],
      [
        'rotations',
        `${progress.done}/${plan.length} (single-user ${progress.perStrategy['single-user']}, alternating-users ${progress.perStrategy['alternating-users']})`,
      ],
      ['old password rejected', `${progress.proofsOk}/${singlePlanned} single-user rotations`],
      ['sessions ended', String(progress.killed)],
      ['GetSecretValue (app)', String(snap.appGetSecretValue)],
      ['auth-error refreshes', String(sourceStats?.refreshes ?? 0)],
      ['AWSPENDING fallbacks', String(sourceStats?.fallbacks ?? 0)],
      ['result', interrupted ? 'INTERRUPTED' : pass ? 'PASS' : 'FAIL'],
    ],
    pass,
    interrupted,
    samples: stats.samples,
    error: interrupted ? undefined : error,
  };
}
