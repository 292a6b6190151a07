import { spawn } from 'node:child_process';
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canExecute, type OsIds, postgresBinaries, postgresOsUser } from '../src/stack/postgres-binaries.js';
import { startEmbeddedPostgres } from '../src/stack/postgres.js';

const asRoot = process.getuid?.() === 0;

// A checkout the postgres OS user cannot traverse (a clone under /root, mode 700): the packaged
// binaries are copied here into such a directory and handed to postgresBinaries in their place.
describe.skipIf(!asRoot)(
  'embedded PostgreSQL binaries from a checkout the postgres user cannot reach (as root)',
  () => {
    let closed: string;
    let ids: OsIds;
    let packaged: { initdb: string; postgres: string };

    beforeAll(async () => {
      ids = (await postgresOsUser())!;
      const real = await postgresBinaries(undefined); // as root: the packaged binaries, unchecked
      closed = await mkdtemp(join(tmpdir(), 'dbcreds-closed-'));
      await chmod(closed, 0o700);
      await cp(dirname(dirname(real.initdb)), join(closed, 'native'), { recursive: true, verbatimSymlinks: true });
      await cp(join(dirname(real.initdb), '..', '..', 'package.json'), join(closed, 'package.json'));
      packaged = { initdb: join(closed, 'native/bin/initdb'), postgres: join(closed, 'native/bin/postgres') };
    });
    afterAll(async () => {
      await rm(closed, { recursive: true, force: true });
    });

    it('the fault is real: the postgres user gets EACCES there', async () => {
      expect(await canExecute(packaged.initdb, ids)).toBe('EACCES');
      expect(await canExecute(packaged.initdb, { uid: 0, gid: 0 })).toBeUndefined();
    });

    it('runs initdb as the postgres user from a copy under the temp dir (root-owned, not writable by others)', async () => {
      const bin = await postgresBinaries(ids, packaged);
      expect(bin.initdb).not.toBe(packaged.initdb);
      expect(bin.initdb.startsWith(tmpdir())).toBe(true);
      expect(await postgresBinaries(ids, packaged)).toEqual(bin); // once per run
      const dataDir = await mkdtemp(join(tmpdir(), 'dbcreds-initdb-'));
      await rm(dataDir, { recursive: true });
      const code = await new Promise((resolve) => {
        const child = spawn(bin.initdb, ['-D', dataDir, '--no-sync', '-A', 'trust', '-U', 'postgres'], {
          ...ids,
          stdio: 'ignore',
        });
        child.once('exit', resolve);
      });
      await rm(dataDir, { recursive: true, force: true });
      expect(code).toBe(0); // share/ and lib/ came along
    });
  },
);

describe('startEmbeddedPostgres', () => {
  it('rejects unknown options and starts, serves and stops a server', async () => {
    await expect(startEmbeddedPostgres({ nope: 1 } as never)).rejects.toThrow(/unknown option\(s\) nope/);
    const pg = await startEmbeddedPostgres({ maxConnections: 20 });
    expect(pg.server.port).toBeGreaterThan(0);
    await pg.stop();
    await pg.stop(); // idempotent
  });
});
