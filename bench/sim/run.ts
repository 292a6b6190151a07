/**
 * One simulated fleet: N processes, each with its own real `createCredentialSource` (core's state
 * machine, unchanged), on simulated time (virtual-time.ts), reading a Secrets Manager model with the
 * account's quotas directly or through one agent per host (agent.ts), and logging in to a database model
 * through `source.withAuthRetry`, as every adapter does on a new physical connection. Each process opens
 * connections as a Poisson stream; a rotation function (the AWS template's calls) rotates the secret.
 */
import { type CredentialSource, createCredentialSource, type DbCredentials } from '@dbcreds/core';
import { HostAgent, routeAgentHttp } from './agent.js';
import { DatabaseModel } from './database.js';
import { type Api, APIS, QUOTAS, SecretsManagerModel, serviceError } from './secrets-manager.js';
import { seededRandom, VirtualTime } from './virtual-time.js';

export type Scenario = 'steady' | 'single-user' | 'alternating-users';

export interface SimOptions {
  scenario: Scenario;
  processes: number;
  /** Read through one Secrets Manager Agent per host instead of calling Secrets Manager. */
  agent: boolean;
  /** Processes per host (agent mode). */
  perHost: number;
  /** Mean time between new physical connections of one process, ms (exponential: pool churn). */
  connIntervalMs: number;
  /** Processes start (first connection, first read) uniformly over this many ms. */
  startupMs: number;
  /** First rotation this long after the start, ms. */
  warmupMs: number;
  rotations: number;
  /** Between rotations, and after the last, ms. */
  rotationIntervalMs: number;
  /** setSecret → finishSecret gap, ms. */
  windowMs: number;
  /** steady: simulated time, ms. */
  durationMs: number;
  /** The sources' TTL, ms (each expiry drawn in [ttl/2, ttl]). */
  ttlMs: number;
  /** The agent's cache TTL, ms (its default: 300 s). */
  agentTtlMs: number;
  /** Secrets Manager answer latency, ms. */
  latencyMs: number;
  /** The rest of the account's GetSecretValue load, per second. */
  backgroundGsvTps: number;
  /** Token bucket size in ms of the quota (AWS documents none; 1000 = one second's requests at once). */
  burstMs: number;
  /** After each rotation every process reconnects within 100 ms (the real fleet bench kills idle sessions). */
  reconnectAfterRotation: boolean;
  seed: number;
  /**
   * Rotation scenarios, to simulate 100,000 processes in minutes: a process opens its first connection,
   * then none until the rotation starts (Poisson arrivals are memoryless), and none once it holds the new
   * version. Those connections are cache hits that call nothing while the TTL outlasts the run, so the
   * Secrets Manager figures, refusals and failures are the same; only `connections` counts fewer.
   */
  skipSettled: boolean;
  /** Core options every source gets (tuning): retry, errorBackoff, minRefreshIntervalMs, agent spreadMs. */
  tuning: { retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number }; spreadMs?: number };
}

export interface ApiFigures {
  quota: number;
  /** The quota minus the background load (GetSecretValue). */
  available: number;
  requests: number;
  throttled: number;
  /** Requests in the busiest simulated second. */
  peak: number;
  /** 99th percentile of requests per second over the run. */
  p99: number;
}

export interface SimResult {
  options: SimOptions;
  hosts: number;
  simulatedMs: number;
  wallMs: number;
  heapMb: number;
  apis: Record<Api, ApiFigures>;
  /** Requests by caller:API. */
  byCaller: Record<string, number>;
  /** Reads each source made (stats().fetches: GetSecretValue, or agent reads). */
  perProcess: { min: number; median: number; max: number; total: number };
  connections: number;
  /** Logins the database refused (a refused first attempt that the retry then fixed included). */
  refusedLogins: number;
  /** Connection attempts that failed (the error reached the app). */
  failed: number;
  errorSamples: string[];
  /** Per rotation: ms from its start until every process held the new version (undefined: not within the interval). */
  allHeldMs: Array<number | undefined>;
  rotationsAtMs: number[];
  /** Source reads (fleet GetSecretValue or agent reads) per simulated second. */
  readsPerSecond: number[];
  /** Secrets Manager calls (all APIs, every caller but the rotation function) per hour over the run's second half. */
  callsPerHour: number;
  /** Secrets Manager calls (all APIs, every caller) from each rotation's start to the next (or the end). */
  callsPerRotation: number[];
}

export const SIM_DEFAULTS: SimOptions = {
  scenario: 'single-user',
  processes: 1000,
  agent: false,
  perHost: 50,
  connIntervalMs: 10_000,
  startupMs: 60_000,
  warmupMs: 90_000,
  rotations: 1,
  rotationIntervalMs: 120_000,
  windowMs: 1_000,
  durationMs: 2 * 3_600_000,
  ttlMs: 3_600_000,
  agentTtlMs: 300_000,
  latencyMs: 20,
  backgroundGsvTps: 0,
  burstMs: 1_000,
  reconnectAfterRotation: false,
  seed: 1,
  skipSettled: false,
  tuning: {},
};

const START = Date.UTC(2026, 11, 1);

export async function runSim(o: SimOptions): Promise<SimResult> {
  const wallStart = performance.now();
  const vt = new VirtualTime(START);
  const rand = seededRandom(o.seed);
  const simRand = seededRandom(o.seed * 2_654_435_761);
  vt.install(rand);
  const sm = new SecretsManagerModel(vt, {
    latencyMs: o.latencyMs,
    backgroundGsvTps: o.backgroundGsvTps,
    burstMs: o.burstMs,
  });
  const db = new DatabaseModel();
  const agents = new Map<string, HostAgent>();
  const restoreHttp = o.agent ? routeAgentHttp(agents) : undefined;
  const secret = (username: string, password: string) =>
    JSON.stringify({ engine: 'postgres', host: 'db.sim', port: 5432, username, password, dbname: 'app' });
  let passwordSeq = 0;
  const newPassword = () => `pw-${++passwordSeq}-${Math.floor(simRand() * 1e9)}`;
  const users = ['app', 'app_clone'];
  let user = users[0]!;
  const first = newPassword();
  db.setPassword(user, first);
  let target = sm.seed(secret(user, first));
  /** skipSettled: the version before the current rotation, and the processes that stopped connecting. */
  let rotationBase = target;
  let stopped: Array<{ source: CredentialSource; held: string | undefined }> = [];

  const clock = { now: () => vt.now };
  const readsPerSecond: number[] = [];
  const countRead = () => {
    const sec = Math.floor((vt.now - START) / 1000);
    readsPerSecond[sec] = (readsPerSecond[sec] ?? 0) + 1;
  };
  const client = {
    send: (command: { input: { VersionStage?: string } }) => {
      countRead();
      return sm.request('GetSecretValue', 'fleet', () => sm.getSecretValue(command.input.VersionStage ?? 'AWSCURRENT'));
    },
  };
  const hosts = o.agent ? Math.ceil(o.processes / o.perHost) : 0;
  const procs: Array<{ source: CredentialSource; held: string | undefined }> = [];
  let held = 0;
  let heldAt: number | undefined;
  const stats = { connections: 0, failed: 0 };
  const errorSamples: string[] = [];
  let running = true;

  for (let i = 0; i < o.processes; i++) {
    const host = `h${Math.floor(i / o.perHost)}.sim`;
    if (o.agent && !agents.has(host)) agents.set(host, new HostAgent(sm, vt, o.agentTtlMs, countRead));
    const { retry, spreadMs } = o.tuning;
    const source = createCredentialSource({
      secretId: sm.arn,
      ...(o.agent
        ? { agent: { endpoint: `http://${host}:2773`, token: 'sim', ...(spreadMs === undefined ? {} : { spreadMs }) } }
        : {
            client: client as unknown as NonNullable<Parameters<typeof createCredentialSource>[0]['client']>,
          }),
      clock,
      ttlMs: o.ttlMs,
      ...(retry ? { retry } : {}),
    });
    const p = { source, held: undefined as string | undefined };
    source.on('refreshed', (e) => {
      if (p.held === e.versionId) return;
      p.held = e.versionId;
      if (e.versionId === target && ++held === o.processes) heldAt = vt.now;
    });
    procs.push(p);
  }

  const connect = (p: (typeof procs)[number]) => {
    if (!running) return;
    stats.connections++;
    p.source
      .withAuthRetry((c: DbCredentials) => db.login(c))
      .then(
        () => {},
        (err: Error) => {
          if (!running) return;
          stats.failed++;
          if (errorSamples.length < 5) errorSamples.push(`${err.name}: ${err.message}`);
        },
      );
  };
  const exp = (mean: number) => -Math.log(1 - simRand()) * mean;
  const skip = o.skipSettled && o.scenario !== 'steady';
  const arrive = (p: (typeof procs)[number]) => {
    if (skip && p.held === target && target !== rotationBase) {
      stopped.push(p);
      return;
    }
    connect(p);
    const next = vt.now + exp(o.connIntervalMs);
    vt.at(skip && next < START + o.warmupMs ? START + o.warmupMs + exp(o.connIntervalMs) : next, () => arrive(p));
  };
  for (const p of procs) vt.at(START + simRand() * o.startupMs, () => arrive(p));

  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  /** A call of the rotation function: the SDK retries throttling with backoff until it gets through. */
  const call = async <T>(api: Api, answer: () => T): Promise<T> => {
    for (let k = 0; ; k++) {
      try {
        return await sm.request(api, 'rotation', answer);
      } catch (err) {
        if ((err as Error).name !== 'ThrottlingException') throw err;
        await sleep(Math.min(5_000, 100 * 2 ** k) * (0.5 + simRand() / 2));
      }
    }
  };
  const notFound = () => {
    throw serviceError('ResourceNotFoundException', 400, 'no AWSPENDING for this token');
  };
  /** The AWS rotation template's four steps and their calls (the handler's DescribeSecret guard per step). */
  const rotate = async (): Promise<void> => {
    await call('RotateSecret', () => undefined);
    await call('DescribeSecret', () => sm.versionIdsToStages());
    await call('GetSecretValue', () => sm.getSecretValue('AWSCURRENT'));
    await call('GetSecretValue', notFound).catch(() => undefined);
    const nextUser = o.scenario === 'alternating-users' ? users[(users.indexOf(user) + 1) % 2]! : user;
    const pw = newPassword();
    const id = await call('Writes', () => sm.putPending(secret(nextUser, pw)));
    target = id;
    await call('DescribeSecret', () => sm.versionIdsToStages());
    await call('GetSecretValue', () => sm.getSecretValue('AWSPENDING'));
    await call('GetSecretValue', () => sm.getSecretValue('AWSCURRENT'));
    db.setPassword(nextUser, pw);
    await sleep(o.windowMs);
    await call('DescribeSecret', () => sm.versionIdsToStages());
    await call('GetSecretValue', () => sm.getSecretValue('AWSPENDING'));
    await call('DescribeSecret', () => sm.versionIdsToStages());
    await call('Writes', () => sm.promote(id));
    user = nextUser;
  };

  const allHeldMs: Array<number | undefined> = [];
  const rotationsAtMs: number[] = [];
  const advance = async (to: number) => {
    while (vt.now < to) {
      const next = Math.min(to, Math.floor((vt.now - START) / 1000) * 1000 + 1000 + START);
      await vt.runUntil(next);
    }
  };
  try {
    if (o.scenario === 'steady') {
      await advance(START + o.durationMs);
    } else {
      await advance(START + o.warmupMs);
      for (let r = 0; r < o.rotations; r++) {
        const at = vt.now;
        rotationBase = target;
        for (const p of stopped) vt.at(at + exp(o.connIntervalMs), () => arrive(p));
        stopped = [];
        rotationsAtMs.push(at - START);
        held = 0;
        heldAt = undefined;
        const rotation = rotate();
        // Nobody holds the new version before the rotation made it.
        await advance(at + 1);
        let done = false;
        const finished = () => {
          done = true;
        };
        rotation.then(finished, finished);
        for (let guard = 0; !done && guard < 36_000; guard++) await advance(vt.now + 100);
        await rotation;
        if (o.reconnectAfterRotation) for (const p of procs) vt.at(vt.now + simRand() * 100, () => connect(p));
        await advance(at + o.rotationIntervalMs);
        allHeldMs.push(heldAt === undefined ? undefined : heldAt - at);
      }
    }
  } finally {
    running = false;
    for (const p of procs) p.source.close();
    await vt.runUntil(vt.now + 10);
    restoreHttp?.();
    vt.uninstall();
  }

  const fetches = procs.map((p) => p.source.stats().fetches).sort((a, b) => a - b);
  const apis = {} as Record<Api, ApiFigures>;
  const seconds = Math.ceil((vt.now - START) / 1000);
  const allPerSecond = Array.from({ length: seconds }, (_, i) =>
    APIS.reduce((a, api) => a + (sm.perSecond.get(api)!.requests[i] ?? 0), 0),
  );
  const sum = (from: number, to: number) => allPerSecond.slice(from, to).reduce((a, b) => a + b, 0);
  const half = Math.floor(seconds / 2);
  const rotationCalls = Object.entries(Object.fromEntries(sm.byCaller))
    .filter(([k]) => k.startsWith('rotation:'))
    .reduce((a, [, v]) => a + v, 0);
  const callsPerHour = ((sum(half, seconds) - (o.scenario === 'steady' ? 0 : rotationCalls)) * 3600) / (seconds - half);
  const callsPerRotation = rotationsAtMs.map((at, i) =>
    sum(Math.floor(at / 1000), i + 1 < rotationsAtMs.length ? Math.floor(rotationsAtMs[i + 1]! / 1000) : seconds),
  );
  for (const api of APIS) {
    const c = sm.perSecond.get(api)!;
    const perSec = Array.from({ length: seconds }, (_, i) => c.requests[i] ?? 0);
    const sorted = [...perSec].sort((a, b) => a - b);
    apis[api] = {
      quota: QUOTAS[api],
      available: sm.available(api),
      requests: perSec.reduce((a, b) => a + b, 0),
      throttled: c.throttled.reduce((a, b) => a + (b ?? 0), 0),
      peak: sorted.at(-1) ?? 0,
      p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0,
    };
  }
  return {
    options: o,
    hosts,
    simulatedMs: vt.now - START,
    wallMs: Math.round(performance.now() - wallStart),
    heapMb: Math.round(process.memoryUsage().heapUsed / 1e6),
    apis,
    byCaller: Object.fromEntries(sm.byCaller),
    perProcess: {
      min: fetches[0] ?? 0,
      median: fetches[Math.floor(fetches.length / 2)] ?? 0,
      max: fetches.at(-1) ?? 0,
      total: fetches.reduce((a, b) => a + b, 0),
    },
    connections: stats.connections,
    refusedLogins: db.refused,
    failed: stats.failed,
    errorSamples,
    allHeldMs,
    rotationsAtMs,
    callsPerHour: Math.round(callsPerHour),
    callsPerRotation,
    readsPerSecond: Array.from({ length: seconds }, (_, i) => readsPerSecond[i] ?? 0),
  };
}
