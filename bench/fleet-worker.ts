/**
 * One process of the fleet benchmark (forked by fleet.ts): its own dbcreds pool and credential
 * source, `workers` loops of `SELECT 1` until the parent says stop. Reports its query counts and the
 * wall-clock times of its GetSecretValue calls (an SDK middleware counts them). The parent passes
 * the endpoint and the secret's id only: the password comes from the Secrets Manager, as in production.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createPool as createMysqlPool } from '@dbcreds/mysql2';
import { createPool as createPgPool } from '@dbcreds/pg';
import { classifyFailure } from './drill-run.js';

export interface FleetWorkerConfig {
  engine: 'postgres' | 'mysql';
  endpoint: string;
  region: string;
  secretId: string;
  ttlMs: number;
  server: { host: string; port: number; database: string };
  workers: number;
  poolMax: number;
  idleTimeoutMs: number;
  thinkMs: number;
  /** Read through the Secrets Manager Agent at this endpoint instead of the SDK client. */
  agent?: { endpoint: string; token: string };
}

export interface FleetWorkerResult {
  ok: number;
  failed: number;
  /** Sessions the parent killed mid-query (a failover artefact; not counted in `failed`). */
  killed: number;
  /** Date.now() of each GetSecretValue call this process made. */
  getSecretValueAt: number[];
  errorSamples: string[];
}

export type ParentMessage = { type: 'start' } | { type: 'stop' };
export type WorkerMessage = { type: 'ready' } | { type: 'result'; result: FleetWorkerResult };

function send(m: WorkerMessage): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as FleetWorkerConfig;
  const client = new SecretsManagerClient({
    endpoint: cfg.endpoint,
    region: cfg.region,
    credentials: { accessKeyId: 'AKIDFLEET', secretAccessKey: 'fleet' },
    maxAttempts: 1, // core retries
  });
  const getSecretValueAt: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') getSecretValueAt.push(Date.now());
      return next(args);
    },
    { step: 'initialize', name: 'fleetCountGets' },
  );
  // Through the agent, `getSecretValueAt` stays empty: the agent counts its calls to Secrets Manager.
  const source = cfg.agent
    ? { secretId: cfg.secretId, agent: cfg.agent, ttlMs: cfg.ttlMs }
    : { secretId: cfg.secretId, client, ttlMs: cfg.ttlMs };
  let query: () => Promise<unknown>;
  let end: () => Promise<void>;
  if (cfg.engine === 'postgres') {
    const pool = createPgPool(source, { ...cfg.server, max: cfg.poolMax, idleTimeoutMillis: cfg.idleTimeoutMs });
    query = () => pool.query('SELECT 1');
    end = () => pool.end();
  } else {
    const pool = createMysqlPool(source, {
      ...cfg.server,
      connectionLimit: cfg.poolMax,
      maxIdle: 0,
      idleTimeout: cfg.idleTimeoutMs,
    });
    pool.on('error', () => {});
    const p = pool.promise();
    query = () => p.query('SELECT 1');
    end = () => p.end();
  }
  await query(); // connected: ready
  const result: FleetWorkerResult = { ok: 0, failed: 0, killed: 0, getSecretValueAt, errorSamples: [] };
  let stop = false;
  const started = new Promise<void>((resolve) => {
    process.on('message', (m: ParentMessage) => {
      if (m.type === 'start') resolve();
      if (m.type === 'stop') stop = true;
    });
  });
  send({ type: 'ready' });
  await started;
  const worker = async () => {
    while (!stop) {
      try {
        await query();
        result.ok++;
      } catch (err) {
        if (classifyFailure(err) === 'killed') result.killed++;
        else {
          result.failed++;
          if (result.errorSamples.length < 3) {
            const e = err as { code?: unknown; message?: unknown };
            result.errorSamples.push(`${String(e.code ?? '')} ${String(e.message ?? err).slice(0, 120)}`);
          }
        }
      }
      if (cfg.thinkMs > 0) await sleep(Math.random() * cfg.thinkMs);
    }
  };
  await Promise.all(Array.from({ length: cfg.workers }, worker));
  await end();
  client.destroy();
  send({ type: 'result', result });
}

main().then(
  () => process.disconnect?.(),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
