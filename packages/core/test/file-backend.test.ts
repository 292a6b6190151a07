/**
 * The file backend on a real file system: the kubelet's atomic writer (test/src/kubelet-writer.ts),
 * editors' rename-writes, a file briefly missing, a malformed write, symlinks out of the mount, and a
 * refused login waiting for the mount to catch up. Timings only bound hangs; assertions are on order and counts.
 */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  ConfigurationError,
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  type DbCredentials,
  type ErrorEvent,
  SecretFetchError,
  SecretFormatError,
} from '@dbcreds/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeletWriter } from '../../../test/src/kubelet-writer.js';

let root: string;
const sources: CredentialSource[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dbcreds-file-'));
});
afterEach(async () => {
  for (const s of sources.splice(0)) s.close();
  await rm(root, { recursive: true, force: true });
});

const secret = (username: string, password: string) =>
  JSON.stringify({ engine: 'postgres', host: 'db.internal', port: 5432, username, password, dbname: 'app' });

function open(options: CredentialSourceOptions): CredentialSource {
  const s = createCredentialSource(options);
  sources.push(s);
  return s;
}

/** Hang guard only: polls `cond` every 5 ms. */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** get() until it answers `password` (the first get() after a change serves the old value while reloading). */
const untilPassword = (s: CredentialSource, password: string) =>
  waitFor(async () => (await s.get()).password === password, `password ${password}`);

const authError = () => Object.assign(new Error('password authentication failed'), { code: '28P01' });

/** A database that accepts one password at a time. */
function server(password: string) {
  const db = { password, attempts: 0 };
  const login = (c: DbCredentials) => {
    db.attempts++;
    return c.password === db.password ? Promise.resolve(c.password) : Promise.reject(authError());
  };
  return { db, login };
}

describe('Backend: file, reading', () => {
  it('reads the secret JSON at the first get(), once, with secretKeys and a whole-URL file', async () => {
    await writeFile(join(root, 'db.json'), JSON.stringify({ db: { user: 'app', pass: 'p1' }, host: 'h' }));
    const s = open({ file: join(root, 'db.json'), secretKeys: { username: 'db.user', password: 'db.pass' } });
    const c = await s.get();
    expect([c.username, c.password, c.host, c.stage]).toEqual(['app', 'p1', 'h', 'AWSCURRENT']);
    expect(c.versionId).toMatch(/^file-[0-9a-f]{24}$/);
    await s.get();
    expect(s.stats().fetches).toBe(1);
    expect(s.secretId).toBe(join(root, 'db.json'));
    expect(String(s)).toBe(`CredentialSource(file ${join(root, 'db.json')})`);

    await writeFile(join(root, 'url'), 'postgresql://app:p%40ss@db:6432/app');
    const u = await open({ file: join(root, 'url') }).get();
    expect([u.username, u.password, u.port, u.engine]).toEqual(['app', 'p@ss', 6432, 'postgres']);
  });

  it('the same content has the same versionId; the id reveals nothing of the password', async () => {
    await writeFile(join(root, 'a.json'), secret('app', 'p1'));
    await writeFile(join(root, 'b.json'), secret('app', 'p1'));
    const a = await open({ file: join(root, 'a.json') }).get();
    const b = await open({ file: join(root, 'b.json') }).get();
    expect(a.versionId).toBe(b.versionId);
    expect(inspect(a) + JSON.stringify(a) + String(a)).not.toContain('p1');
  });

  it('a directory of field files (a Secret volume, ASCP jmesPath): keys name the files, one trailing newline dropped', async () => {
    const dir = join(root, 'creds');
    await new KubeletWriter(dir).write({ user: 'app\n', pass: 'p1\n', host: 'db.internal', port: '6432' });
    const s = open({ file: { dir, keys: { username: 'user', password: 'pass', host: 'host', port: 'port' } } });
    const c = await s.get();
    expect([c.username, c.password, c.host, c.port]).toEqual(['app', 'p1', 'db.internal', 6432]);
    // Default names: username and password required, the rest read if present.
    const plain = join(root, 'plain');
    await mkdir(plain);
    await writeFile(join(plain, 'username'), 'app');
    await writeFile(join(plain, 'password'), 'p2');
    const p = await open({ file: { dir: plain } }).get();
    expect([p.username, p.password, p.host]).toEqual(['app', 'p2', undefined]);
  });

  it('missing, malformed and missing-field files are typed errors with a cause, never the value', async () => {
    const missing = open({ file: join(root, 'nope.json'), retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const e1 = await missing.get().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SecretFetchError);
    expect((e1 as Error).message).toMatch(/does not exist \(is the volume mounted\?\)/);
    expect((e1 as { cause: { code: string } }).cause.code).toBe('ENOENT');
    expect((e1 as SecretFetchError).attempts).toBe(2);

    await writeFile(join(root, 'bad.json'), '{"username":"app","password":"s3cr3t-half');
    const e2 = await open({ file: join(root, 'bad.json'), retry: { maxAttempts: 1 } })
      .get()
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(SecretFormatError);
    expect(inspect(e2)).not.toContain('s3cr3t');

    const dir = join(root, 'fields');
    await mkdir(dir);
    await writeFile(join(dir, 'username'), 'app');
    const e3 = await open({ file: { dir }, retry: { maxAttempts: 1 } })
      .get()
      .catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(SecretFormatError);
    expect((e3 as SecretFormatError).field).toBe('password');
  });

  it('never follows a symlink out of the mount (a file, or ..data, pointing elsewhere)', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'dbcreds-outside-'));
    try {
      await writeFile(join(outside, 'db.json'), secret('app', 'outside-pw'));
      const mount = join(root, 'mnt');
      await mkdir(mount);
      await symlink(join(outside, 'db.json'), join(mount, 'db.json'));
      const e = await open({ file: join(mount, 'db.json') })
        .get()
        .catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SecretFetchError);
      expect((e as Error).message).toMatch(/resolves outside the mount/);
      expect((e as SecretFetchError).attempts).toBe(1); // not retried
      expect(inspect(e)).not.toContain('outside-pw');

      const dir = join(root, 'vol');
      await mkdir(dir);
      await symlink(outside, join(dir, '..data'));
      await symlink('..data/db.json', join(dir, 'username'));
      const e2 = await open({ file: { dir } })
        .get()
        .catch((err: unknown) => err);
      expect((e2 as Error).message).toMatch(/resolves outside the mount/);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('Backend: file, watching', () => {
  it("the kubelet's atomic swap: the next get() after it reads the new version (fs.watch)", async () => {
    const dir = join(root, 'secrets-store');
    const kubelet = new KubeletWriter(dir);
    await kubelet.write({ 'db.json': secret('app', 'p1') });
    const s = open({ file: { path: join(dir, 'db.json'), pollMs: 0 } });
    const rotated: string[] = [];
    s.on('rotated', (e) => rotated.push(e.versionId));
    expect((await s.get()).password).toBe('p1');
    await kubelet.write({ 'db.json': secret('app', 'p2') });
    await untilPassword(s, 'p2');
    expect(rotated).toHaveLength(1);
    expect(s.stats().errors).toBe(0);
  });

  it('the poll alone (fs.watch off) notices the swap, a rename-write and an in-place write', async () => {
    const dir = join(root, 'secrets-store');
    const kubelet = new KubeletWriter(dir);
    await kubelet.write({ 'db.json': secret('app', 'p1') });
    const s = open({ file: { path: join(dir, 'db.json'), watch: false, pollMs: 20 } });
    expect((await s.get()).password).toBe('p1');
    await kubelet.write({ 'db.json': secret('app', 'p2') });
    await untilPassword(s, 'p2');

    const plain = join(root, 'plain.json');
    await writeFile(plain, secret('app', 'q1'));
    const t = open({ file: { path: plain, watch: false, pollMs: 20 } });
    expect((await t.get()).password).toBe('q1');
    await writeFile(`${plain}.swp`, secret('app', 'q2'));
    await rename(`${plain}.swp`, plain); // an editor's save
    await untilPassword(t, 'q2');
    await writeFile(plain, secret('app', 'q3-longer')); // in place
    await untilPassword(t, 'q3-longer');
    expect(t.stats().rotations).toBe(2);
  });

  it('a file briefly missing: the read retries and gets it back', async () => {
    const path = join(root, 'db.json');
    await writeFile(path, secret('app', 'p1'));
    const s = open({ file: { path, pollMs: 0, watch: false }, retry: { maxAttempts: 5, baseDelayMs: 40 } });
    await s.get();
    await unlink(path);
    const refreshed = s.refresh();
    setTimeout(() => void writeFile(path, secret('app', 'p2')), 30);
    expect((await refreshed).password).toBe('p2');
    expect(s.stats().fetches).toBeGreaterThanOrEqual(3); // initial, missing, found
    expect(s.stats().errors).toBe(0);
  });

  it('a malformed write never replaces working credentials: an error event, then the fixed file is taken', async () => {
    const path = join(root, 'db.json');
    await writeFile(path, secret('app', 'p1'));
    const s = open({
      file: { path, pollMs: 20, watch: false },
      retry: { maxAttempts: 1 },
      errorBackoff: { baseDelayMs: 10, maxDelayMs: 10 },
    });
    const errors: ErrorEvent[] = [];
    s.on('error', (e) => errors.push(e));
    await s.get();
    await writeFile(path, '{"username":"app","password":"half-writ');
    await waitFor(async () => {
      expect((await s.get()).password).toBe('p1'); // still served
      return errors.length > 0;
    }, 'the error event');
    expect(errors[0]!.error).toBeInstanceOf(SecretFormatError);
    expect(errors[0]!.servingStale).toBe(true);
    expect(inspect(errors[0])).not.toContain('half-writ');
    await writeFile(path, secret('app', 'p2'));
    await untilPassword(s, 'p2');
    expect(s.stats().rotations).toBe(1);
  });
});

describe('Backend: file, refused logins', () => {
  it('waits for the mount to catch up (the shared wait loop), within awaitRotationMs', async () => {
    const dir = join(root, 'secrets-store');
    const kubelet = new KubeletWriter(dir, { stepDelayMs: 5 });
    await kubelet.write({ 'db.json': secret('app', 'p1') });
    const s = open({ file: { path: join(dir, 'db.json'), pollMs: 0, watch: false }, awaitRotationMs: 10_000 });
    const { db, login } = server('p1');
    await s.withAuthRetry(login); // a login worked: refusals may wait
    db.password = 'p2';
    const written = new Promise((r) => setTimeout(r, 300)).then(() =>
      kubelet.write({ 'db.json': secret('app', 'p2') }),
    );
    expect(await s.withAuthRetry(login)).toBe('p2');
    await written;
    expect(db.attempts).toBe(3); // ok, refused, ok
    // initial read; the lookup (file read twice: finishSecret may move between); one or more polls
    expect(s.stats().fetches).toBeGreaterThanOrEqual(3);
    expect(s.stats().fetches).toBeLessThanOrEqual(8);
  });

  it('past the budget: the driver error, and further refusals of that version fail fast', async () => {
    const path = join(root, 'db.json');
    await writeFile(path, secret('app', 'p1'));
    const s = open({ file: { path, pollMs: 0, watch: false }, awaitRotationMs: 300, minRefreshIntervalMs: 60_000 });
    const { db, login } = server('p1');
    await s.withAuthRetry(login);
    db.password = 'p2'; // the mount never catches up
    const started = Date.now();
    const err = await s.withAuthRetry(login).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('28P01');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const reads = s.stats().fetches;
    expect(((await s.withAuthRetry(login).catch((e: unknown) => e)) as { code?: string }).code).toBe('28P01');
    expect(s.stats().fetches).toBe(reads); // rate-limited: no read
  });

  it('pendingFile: AWSPENDING mounted is the rotation-window fallback (no wait)', async () => {
    const dir = join(root, 'secrets-store');
    const kubelet = new KubeletWriter(dir);
    await kubelet.write({ 'db.json': secret('app', 'p1') });
    const s = open({
      file: { path: join(dir, 'db.json'), pendingFile: join(dir, 'db-pending.json'), pollMs: 0, watch: false },
      awaitRotationMs: 0,
    });
    const { db, login } = server('p1');
    await s.withAuthRetry(login);
    await kubelet.write({ 'db.json': secret('app', 'p1'), 'db-pending.json': secret('app', 'p2') });
    db.password = 'p2'; // setSecret ran; AWSCURRENT still p1
    expect(await s.withAuthRetry(login)).toBe('p2');
    expect(s.stats().fallbacks).toBe(1);
    expect(s.stats().stage).toBe('AWSPENDING');
    // finishSecret: the same content becomes AWSCURRENT, and it is the same version.
    const pendingVersion = s.stats().versionId;
    await kubelet.write({ 'db.json': secret('app', 'p2'), 'db-pending.json': secret('app', 'p2') });
    expect((await s.refresh()).versionId).toBe(pendingVersion);
  });
});

describe('Backend: file, a mount behind the source', () => {
  it('a version the source moved away from is never taken back while the mount lags', async () => {
    const dir = join(root, 'secrets-store');
    const kubelet = new KubeletWriter(dir);
    const files = (current: string, pending?: string) => ({
      'db.json': secret('app', current),
      ...(pending ? { 'db-pending.json': secret('app', pending) } : {}),
    });
    await kubelet.write(files('p1'));
    const s = open({
      file: { path: join(dir, 'db.json'), pendingFile: join(dir, 'db-pending.json'), pollMs: 0, watch: false },
      awaitRotationMs: 5_000,
    });
    const { db, login } = server('p1');
    await s.withAuthRetry(login);
    const passwords: string[] = []; // every value installed from here on
    s.on('refreshed', () => void s.get().then((c) => passwords.push(c.password)));
    // Rotation 1: p2 in AWSPENDING, set on the server; the source falls back to it. finishSecret not mounted yet.
    await kubelet.write(files('p1', 'p2'));
    db.password = 'p2';
    expect(await s.withAuthRetry(login)).toBe('p2');
    // Rotation 2 starts: p3 set on the server; the mount still has p1 current, p2 pending (both behind).
    db.password = 'p3';
    const later = new Promise((r) => setTimeout(r, 300)).then(() => kubelet.write(files('p2', 'p3')));
    expect(await s.withAuthRetry(login)).toBe('p3'); // waited for the mount: p1 was never installed
    await later;
    expect(passwords).not.toContain('p1');
    expect(db.attempts).toBe(5); // ok; refused, ok; refused, ok
  });
});

describe('Backend: file, options', () => {
  it.each([
    [{ file: 42 }, 'file'],
    [{ file: {} }, 'file'],
    [{ file: { path: '/a', dir: '/b' } }, 'file'],
    [{ file: { path: '/mnt/a.json', bogus: 1 } }, 'file.bogus'],
    [{ file: { path: '/mnt/a.json', keys: { username: 'u' } } }, 'file.path'],
    [{ file: { dir: '/mnt/s', keys: { username: '../etc/passwd' } } }, 'file.keys.username'],
    [{ file: { dir: '/mnt/s', keys: { user: 'u' } } }, 'file.keys.user'],
    [{ file: { path: '/mnt/a.json', pollMs: -1 } }, 'file.pollMs'],
    [{ file: { path: '/mnt/a.json', pendingFile: '/etc/p.json', root: '/mnt' } }, 'file.pendingFile'],
    [{ file: '/mnt/a.json', secretId: 'x' }, 'secretId'],
    [{ file: '/mnt/a.json', agent: true }, 'agent'],
    [{ file: { dir: '/mnt/s' }, secretKeys: { username: 'u' } }, 'secretKeys'],
    [{ file: '/mnt/a.json', versionStage: 'AWSPENDING' }, 'versionStage'],
  ])('%j is refused (%s)', (options, key) => {
    let err: unknown;
    try {
      createCredentialSource(options as CredentialSourceOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).keys).toContain(key);
  });
});
