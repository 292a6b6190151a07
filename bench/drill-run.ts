/**
 * The rotation drill: K workers query continuously through each contender's pool (short idle
 * timeout, so physical connections churn) while the drill rotates the secret R times and kills the
 * user's idle sessions after each rotation. Contenders run one after another against the same
 * servers and the same local Secrets Manager, each with its own user and secret.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { createRotationHandler } from '@dbcreds/rotation';
import type { DrillTimeline } from './drill-chart.js';
import type { LibraryClient } from 'dbcreds/testing';
import type { ContenderContext, ContenderSpec } from './drill-contenders.js';
import {
  createDrillAdmin,
  type DrillAdmin,
  type DrillServer,
  randomPassword,
  rdsSecretValue,
} from './drill-servers.js';

export type RotationMode = 'handler' | 'manual';

export interface DrillOptions {
  /** Concurrent workers per contender. Default 16. */
  workers: number;
  /** Rotations per contender. Default 3. */
  rotations: number;
  /** Time between rotations, and after the last one, in ms. Default 5500. */
  intervalMs: number;
  /** Queries before the first rotation, in ms. Default 1000. */
  warmupMs: number;
  /** Pool size. Default 8. */
  poolMax: number;
  /** Pool idle timeout in ms: idle physical connections close after this (churn). Default 100. */
  idleTimeoutMs: number;
  /** Pool connect timeout in ms. Default 5000. */
  connectTimeoutMs: number;
  /** Each worker pauses a uniform random 0..thinkMs between queries. Default 200. */
  thinkMs: number;
  /** A query slower than this counts as failed (`timeout`). Default 10000. */
  queryTimeoutMs: number;
  /**
   * `handler`: RotateSecret on the local Secrets Manager, which invokes `@dbcreds/rotation`'s
   * `createRotationHandler` registered as in-process rotator. `manual`: the drill itself does
   * PutSecretValue(AWSPENDING) → ALTER USER → UpdateSecretVersionStage(AWSCURRENT). Default `handler`.
   */
  rotation: RotationMode;
  /**
   * Gap between setSecret (password changed in the database) and finishSecret (AWSCURRENT moves), in
   * ms: the rotation window in which GetSecretValue still returns the old password. Default 1000.
   */
  windowMs: number;
  /**
   * Rotation strategy (`handler` mode only for `alternating-users`, which flips between `u` and
   * `u_clone` using a master secret). Default `single-user`.
   */
  strategy: 'single-user' | 'alternating-users';
}

export const DEFAULT_DRILL_OPTIONS: DrillOptions = {
  workers: 16,
  rotations: 3,
  intervalMs: 5500,
  warmupMs: 1000,
  poolMax: 8,
  idleTimeoutMs: 100,
  connectTimeoutMs: 5000,
  thinkMs: 200,
  queryTimeoutMs: 10_000,
  rotation: 'handler',
  windowMs: 1000,
  strategy: 'single-user',
};

export type FailureKind = 'auth' | 'timeout' | 'other';

export interface ContenderResult {
  contender: string;
  label: string;
  engine: DrillServer['engine'];
  /** Set when the contender could not be built or started; the other fields are then zero. */
  unavailable?: string;
  queriesOk: number;
  /** Failed queries (auth + timeout + other); sessions killed mid-query are counted apart. */
  queriesFailed: number;
  failedByKind: Record<FailureKind, number>;
  /** Queries that hit a session the drill killed at that instant (a failover artefact, same for all). */
  killedInFlight: number;
  /** Failures before the first rotation (should be 0). */
  failedBeforeFirstRotation: number;
  /** Failures in each rotation's window [rotation start, next rotation start). */
  failedPerRotation: number[];
  /** GetSecretValue calls the contender made (local SM counter minus the drill's own calls). */
  getSecretValueCalls: number;
  latencyMs: { p50: number; p99: number; max: number };
  /**
   * Per rotation: ms from rotation start to the end of the last failed query in its window; 0 if no
   * query failed; null if queries still failed in the window's last second (not recovered).
   */
  recoveryMs: (number | null)[];
  /** Errors that escaped the contender (unhandled 'error' events, rejections): a crash in production. */
  uncaughtErrors: number;
  /**
   * The credentials in use before the first rotation were rejected by the server after it (single-user)
   * or after the second rotation (alternating-users): proves the drill bites.
   */
  oldPasswordRejected: boolean;
  rotationMs: number[];
  sessionsKilled: number;
  errorSamples: string[];
  /** Per-bucket ok/failed counts, rotation step and GetSecretValue times: what the drill chart draws. */
  timeline: DrillTimeline;
}

/** Timeline bucket width. */
export const BUCKET_MS = 100;
/** How often the drill samples the local SM's GetSecretValue counter for the timeline. */
const GSV_SAMPLE_MS = 5;

export interface DrillEnv {
  sm: LocalSecretsManager;
  server: DrillServer;
  options: DrillOptions;
  log?: (line: string) => void;
}

const REGION = 'us-east-1';

export function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'AKIDDRILL', secretAccessKey: 'drill-secret' },
  };
}

/** The drill's own SM client; counts its GetSecretValue attempts so they can be subtracted. */
export function drillClient(endpoint: string): { client: SecretsManagerClient; gets: () => number } {
  const client = new SecretsManagerClient({ ...clientConfig(endpoint), maxAttempts: 3 });
  let gets = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') gets++;
      return next(args);
    },
    { step: 'deserialize', name: 'drillCountGets' },
  );
  return { client, gets: () => gets };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round((sorted[i] ?? 0) * 100) / 100;
}

type Kind = FailureKind | 'killed';

function errorChain(err: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0 && out.length < 20) {
    const e = stack.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const r = e as Record<string, unknown>;
    out.push(r);
    stack.push(r.cause, r.original, r.parent);
    if (Array.isArray(r.errors)) stack.push(...r.errors);
  }
  return out;
}

const KILLED_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'PROTOCOL_CONNECTION_LOST']);

/** Classifies a failed query. Codes first; message text only because the AWS wrapper drops codes. */
export function classifyFailure(err: unknown): Kind {
  const chain = errorChain(err);
  for (const e of chain) {
    if (e instanceof QueryTimeout) return 'timeout';
    if (e.code === '28P01' || e.code === '28000' || e.errno === 1045 || e.code === 'ER_ACCESS_DENIED_ERROR') {
      return 'auth';
    }
  }
  for (const e of chain) {
    if (KILLED_CODES.has(String(e.code)) || e.errno === 1927) return 'killed';
  }
  for (const e of chain) {
    const m = typeof e.message === 'string' ? e.message : '';
    if (/password authentication failed|Access denied for user/i.test(m)) return 'auth';
    if (/terminating connection due to administrator command|Connection terminated unexpectedly/i.test(m)) {
      return 'killed';
    }
  }
  return 'other';
}

class QueryTimeout extends Error {
  constructor(ms: number) {
    super(`query did not finish within ${ms} ms`);
    this.name = 'QueryTimeout';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueryTimeout(ms)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function describeError(err: unknown, secrets: Set<string>): string {
  const chain = errorChain(err);
  const top = chain[0] ?? {};
  const code = chain.map((e) => e.code ?? e.errno).find((c) => c !== undefined);
  let msg = `${String(top.name ?? 'Error')}${code !== undefined ? ` [${String(code)}]` : ''}: ${String(
    top.message ?? err,
  ).slice(0, 160)}`;
  for (const s of secrets) if (s) msg = msg.split(s).join('***');
  return msg;
}

export interface SecretView {
  versionId: string;
  value: { username: string; password: string } & Record<string, unknown>;
}

export async function readCurrent(client: SecretsManagerClient, secretId: string): Promise<SecretView> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return { versionId: out.VersionId ?? '', value: JSON.parse(out.SecretString ?? '{}') };
}

/** Runs the drill for one contender on one engine. */
export async function runContender(env: DrillEnv, spec: ContenderSpec): Promise<ContenderResult> {
  const { sm, server, options: o } = env;
  const log = env.log ?? (() => {});
  const admin: DrillAdmin = await createDrillAdmin(server);
  const { client, gets } = drillClient(sm.endpoint);
  const alternating = o.strategy === 'alternating-users';
  if (alternating && o.rotation !== 'handler') throw new Error('alternating-users needs --rotation handler');
  const user = await admin.createUser(`drl_${spec.id.replace(/[^a-z0-9]/g, '').slice(0, 10)}`);
  const usernames = alternating ? [user.username, `${user.username}_clone`] : [user.username];
  const secrets = new Set<string>([user.password]);
  const secretId = `drill/${server.engine}/${spec.id}/${randomUUID().slice(0, 8)}`;
  const lambdaArn = `arn:aws:lambda:${REGION}:000000000000:function:drill-${randomUUID().slice(0, 8)}`;
  const result: ContenderResult = {
    contender: spec.id,
    label: spec.label,
    engine: server.engine,
    queriesOk: 0,
    queriesFailed: 0,
    failedByKind: { auth: 0, timeout: 0, other: 0 },
    killedInFlight: 0,
    failedBeforeFirstRotation: 0,
    failedPerRotation: [],
    getSecretValueCalls: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
    recoveryMs: [],
    uncaughtErrors: 0,
    oldPasswordRejected: false,
    rotationMs: [],
    sessionsKilled: 0,
    errorSamples: [],
    timeline: { bucketMs: BUCKET_MS, ok: [], failed: [], steps: [], getSecretValue: [], durationMs: 0 },
  };
  // Absolute performance.now() times, made relative to the load's start (t0) at the end.
  const stepsAt: { step: string; at: number }[] = [];
  const getsAt: number[] = [];
  const markStep = (step: string) => stepsAt.push({ step, at: performance.now() });
  const count = (series: number[], at: number) => {
    const i = Math.max(0, Math.floor(at / BUCKET_MS));
    while (series.length <= i) series.push(0);
    series[i]!++;
  };
  const secretValue = rdsSecretValue(server, user);
  let masterarn: string | undefined;
  let masterUser: string | undefined;
  if (alternating) {
    // PostgreSQL: the server's superuser. MariaDB: a dedicated user with GRANT OPTION (root has no password).
    const master =
      server.engine === 'postgres'
        ? { username: server.adminUser, password: server.adminPassword }
        : await admin.createMaster('drl_master');
    if (server.engine !== 'postgres') masterUser = master.username;
    secrets.add(master.password);
    const out = await client.send(
      new CreateSecretCommand({
        Name: `${secretId}/master`,
        SecretString: JSON.stringify({ ...secretValue, ...master }),
      }),
    );
    masterarn = out.ARN;
  }
  await client.send(
    new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify({ ...secretValue, masterarn }) }),
  );
  if (o.rotation === 'handler') registerRotator(sm, lambdaArn, client, o, markStep);

  const ctx: ContenderContext = {
    engine: server.engine,
    server,
    secretId,
    clientConfig: clientConfig(sm.endpoint),
    initial: { username: user.username, password: user.password },
    pool: { max: o.poolMax, idleTimeoutMs: o.idleTimeoutMs, connectTimeoutMs: o.connectTimeoutMs },
  };

  const latencies: number[] = [];
  const failures: { at: number; end: number }[] = [];
  const samples = new Map<string, number>();
  const noteError = (err: unknown) => {
    const d = describeError(err, secrets);
    samples.set(d, (samples.get(d) ?? 0) + 1);
  };
  const onUncaught = (err: unknown) => {
    result.uncaughtErrors++;
    noteError(err);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  let instance: LibraryClient | undefined;
  const getsBefore = sm.callCount('GetSecretValue');
  const drillGetsBefore = gets();
  // The contender's GetSecretValue calls over time: the SM counter minus the drill's own, sampled.
  let seen = 0;
  const sampleGets = () => {
    const now = sm.callCount('GetSecretValue') - getsBefore - (gets() - drillGetsBefore);
    for (; seen < now; seen++) getsAt.push(performance.now());
  };
  const sampler = setInterval(sampleGets, GSV_SAMPLE_MS);
  let t0 = performance.now();
  try {
    try {
      instance = await spec.create(ctx);
    } catch (err) {
      result.unavailable = describeError(err, secrets);
      return result;
    }
    const inst = instance;
    let stop = false;
    t0 = performance.now();
    const worker = async () => {
      while (!stop) {
        const start = performance.now();
        try {
          await withTimeout(inst.query(), o.queryTimeoutMs);
          const end = performance.now();
          latencies.push(end - start);
          result.queriesOk++;
          count(result.timeline.ok, end - t0);
        } catch (err) {
          const kind = classifyFailure(err);
          if (kind === 'killed') {
            result.killedInFlight++;
          } else {
            result.failedByKind[kind]++;
            result.queriesFailed++;
            failures.push({ at: start - t0, end: performance.now() - t0 });
            count(result.timeline.failed, performance.now() - t0);
          }
          noteError(err);
        }
        if (o.thinkMs > 0) await sleep(Math.random() * o.thinkMs);
      }
    };
    const workers = Array.from({ length: o.workers }, () => worker());

    const rotationStarts: number[] = [];
    let first: SecretView | undefined;
    for (let i = 0; i < o.rotations; i++) {
      const due = o.warmupMs + i * o.intervalMs;
      const wait = due - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      const before = await readCurrent(client, secretId);
      first ??= before;
      const rStart = performance.now() - t0;
      rotationStarts.push(rStart);
      await rotate(o, sm, client, admin, secretId, lambdaArn, before, markStep);
      for (const u of usernames) result.sessionsKilled += await admin.killIdleSessions(u);
      result.rotationMs.push(Math.round(performance.now() - t0 - rStart));
      const after = await readCurrent(client, secretId);
      secrets.add(after.value.password);
      if (after.versionId === before.versionId) throw new Error(`rotation ${i + 1} did not move AWSCURRENT`);
      // Alternating users: the first user's old password dies at the second rotation.
      if (i === (alternating ? 1 : 0) && first) {
        await admin.expectLoginRejected({ username: first.value.username, password: first.value.password });
        result.oldPasswordRejected = true;
      }
      log(`    rotation ${i + 1}/${o.rotations} done in ${result.rotationMs[i]} ms`);
    }
    const end = o.warmupMs + o.rotations * o.intervalMs;
    const wait = end - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    stop = true;
    await Promise.all(workers);
    const tEnd = performance.now() - t0;
    result.timeline.durationMs = Math.round(tEnd);

    // Windows: [rotation i start, rotation i+1 start), the last one until the workers stopped.
    const bounds = [...rotationStarts, tEnd];
    result.failedBeforeFirstRotation = failures.filter((f) => f.at < (rotationStarts[0] ?? tEnd)).length;
    for (let i = 0; i < rotationStarts.length; i++) {
      const from = bounds[i] ?? 0;
      const to = bounds[i + 1] ?? tEnd;
      const inWindow = failures.filter((f) => f.at >= from && f.at < to);
      result.failedPerRotation.push(inWindow.length);
      if (inWindow.length === 0) {
        result.recoveryMs.push(0);
        continue;
      }
      const lastEnd = Math.max(...inWindow.map((f) => f.end));
      const lastStart = Math.max(...inWindow.map((f) => f.at));
      result.recoveryMs.push(lastStart >= to - 1000 ? null : Math.round(lastEnd - from));
    }
  } finally {
    if (instance) {
      await withTimeout(instance.close(), 10_000).catch((err) => noteError(err));
    }
    result.getSecretValueCalls = sm.callCount('GetSecretValue') - getsBefore - (gets() - drillGetsBefore);
    sampleGets();
    clearInterval(sampler);
    const rel = (at: number) => Math.max(0, Math.round(at - t0));
    result.timeline.steps = stepsAt.map((s) => ({ step: s.step, atMs: rel(s.at) }));
    // Calls while closing (after the run) are counted but not drawn past the end.
    result.timeline.getSecretValue = getsAt.map(rel).filter((ms) => ms <= result.timeline.durationMs);
    const buckets = Math.ceil(result.timeline.durationMs / BUCKET_MS);
    for (const series of [result.timeline.ok, result.timeline.failed]) {
      while (series.length < buckets) series.push(0);
      series.length = Math.min(series.length, buckets);
    }
    // Late errors from closing pools are still the contender's; give them a tick to surface.
    await sleep(50);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    latencies.sort((a, b) => a - b);
    result.latencyMs = {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: quantile(latencies, 1),
    };
    result.errorSamples = [...samples.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([m, n]) => `${n}× ${m}`);
    for (const u of [...usernames, ...(masterUser ? [masterUser] : [])]) await admin.dropUser(u).catch(() => {});
    await admin.close().catch(() => {});
    client.destroy();
  }
  return result;
}

/**
 * Registers `@dbcreds/rotation`'s handler as the in-process rotation function `lambdaArn`; it sleeps
 * `o.windowMs` after setSecret and reports each step to `markStep` as it starts.
 */
export function registerRotator(
  sm: LocalSecretsManager,
  lambdaArn: string,
  client: SecretsManagerClient,
  o: Pick<DrillOptions, 'strategy' | 'windowMs'>,
  markStep: (step: string) => void,
): void {
  const handler = createRotationHandler({ strategy: o.strategy, client });
  sm.registerRotator(lambdaArn, async (event) => {
    markStep(event.Step);
    await handler(event);
    // Models the time between the setSecret and finishSecret invocations of a real rotation.
    if (event.Step === 'setSecret' && o.windowMs > 0) await sleep(o.windowMs);
  });
}

/** One rotation (handler: RotateSecret and wait until AWSCURRENT moved; manual: the steps done here). */
export async function rotate(
  o: DrillOptions,
  sm: LocalSecretsManager,
  client: SecretsManagerClient,
  admin: DrillAdmin,
  secretId: string,
  lambdaArn: string,
  before: SecretView,
  markStep: (step: string) => void,
): Promise<void> {
  if (o.rotation === 'handler') {
    const out = await client.send(
      new RotateSecretCommand({ SecretId: secretId, RotationLambdaARN: lambdaArn, RotateImmediately: true }),
    );
    const versionId = out.VersionId;
    // The local SM answers after the steps ran (sync mode); poll in case it runs async.
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const d = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      if (versionId && d.VersionIdsToStages?.[versionId]?.includes('AWSCURRENT')) return;
      const failure = sm.lastRotationError?.(secretId);
      if (failure && failure.versionId === versionId) {
        throw new Error(`rotation failed at ${failure.step}: ${failure.message}`);
      }
      await sleep(20);
    }
    throw new Error('rotation did not finish within 30 s');
  }
  // manual: the protocol's steps done by the drill (createSecret, setSecret, finishSecret).
  const token = randomUUID();
  const password = randomPassword();
  markStep('createSecret');
  await client.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      SecretString: JSON.stringify({ ...before.value, password }),
      VersionStages: ['AWSPENDING'],
    }),
  );
  markStep('setSecret');
  await admin.setPassword(before.value.username, password);
  if (o.windowMs > 0) await sleep(o.windowMs);
  markStep('finishSecret');
  await client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: token,
      RemoveFromVersionId: before.versionId,
    }),
  );
}
