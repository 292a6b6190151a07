/**
 * The fleet benchmark's harness (fleet.ts, agent-fleet.ts): forks K fleet-worker.ts processes against
 * one local Secrets Manager and one database, rotates the secret R times under their load, and
 * collects their query and GetSecretValue counts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { DEFAULT_DRILL_OPTIONS, drillClient, readCurrent, registerRotator, rotate } from './drill-run.js';
import { createDrillAdmin, type DrillEngine, rdsSecretValue, type StartedServer } from './drill-servers.js';
import { type FleetResult, histogram } from './fleet-report.js';
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

export const FLEET_DEFAULTS: FleetOptions = {
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

export async function runFleet(
  sm: LocalSecretsManager,
  server: StartedServer,
  o: FleetOptions,
  k: number,
  log: (l: string) => void,
  /** 'agent': the processes read through `sm.agent` (the local Secrets Manager Agent endpoint). */
  backend: 'direct' | 'agent' = 'direct',
): Promise<FleetResult> {
  const agent = backend === 'agent' ? sm.agent : undefined;
  if (backend === 'agent' && agent === undefined)
    throw new Error("backend 'agent' needs startLocalSecretsManager({ agent })");
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
    const agentBefore = { gsv: agent?.callCount('GetSecretValue') ?? 0, ds: agent?.callCount('DescribeSecret') ?? 0 };
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
      ...(agent ? { agent: { endpoint: agent.endpoint, token: agent.token } } : {}),
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
      ...(agent
        ? {
            agentUpstream: {
              getSecretValue: agent.callCount('GetSecretValue') - agentBefore.gsv,
              describeSecret: agent.callCount('DescribeSecret') - agentBefore.ds,
            },
          }
        : {}),
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
