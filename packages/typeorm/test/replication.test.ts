// TypeORM `replication` (master + slave node) through rotations: the slave is the test bed's TCP
// relay (startFaultProxy, mode pass) in front of the same server on another port, reached as
// `localhost`, so every query can tell which node served it (the session's client port is one of the
// relay's upstream ports). PostgreSQL: one retrying pg Pool per node; MariaDB: mysql2's PoolCluster.
import {
  type Admin,
  type ConformanceContext,
  createAdmin,
  dbSecretFor,
  putDbSecret,
  runConformanceSuite,
  SESSION_SQL,
  startFaultProxy,
  startTestSecretsManager,
  type TestSecretsManager,
  uniqueSecretName,
} from '@dbcreds/testbed';
import { DataSource, type DataSourceOptions, type EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRotatingCredentials } from '../src/index.js';
import { createSchema, inTransaction, Session, TYPEORM_LINE } from './fixtures.js';

beforeAll(async () => {
  for (const engine of ['postgres', 'mysql'] as const) {
    const admin = await createAdmin(engine);
    await createSchema(admin);
    await admin.close();
  }
});

runConformanceSuite({
  name: `@dbcreds/typeorm replication (TypeORM ${TYPEORM_LINE}, master + slave node)`,
  // Error semantics (6-8) are the same code path as without replication (conformance.test.ts).
  scenarios: [1, 2, 3, 4, 5, 9, 10],
  async create(ctx: ConformanceContext) {
    // ctx.host! : scenario 14 (the only one without a host) is not in this list.
    const slave = await startFaultProxy({ target: { host: ctx.host!, port: ctx.port }, protocol: 'tcp' });
    const replication = {
      master: { host: ctx.host, port: ctx.port, database: ctx.database },
      slaves: [{ host: 'localhost', port: slave.port, database: ctx.database }],
    };
    const common = { replication, entities: [Session], poolSize: ctx.maxConnections };
    const dataSource = new DataSource(
      ctx.engine === 'postgres'
        ? withRotatingCredentials(
            { type: 'postgres', ...common, extra: { idleTimeoutMillis: ctx.idleTimeoutMs } },
            ctx.source,
          )
        : withRotatingCredentials(
            { type: 'mariadb', ...common, extra: { maxIdle: ctx.maxIdle, idleTimeout: ctx.idleTimeoutMs } },
            ctx.source,
          ),
    );
    await dataSource.initialize();
    /** Throws unless the row came from the node `expected` (a failed query for the suite). */
    const check = (row: { u: string; p: string | number } | undefined, expected: 'slave' | 'master'): string => {
      const node = slave.upstreamPorts.has(Number(row!.p)) ? 'slave' : 'master';
      if (node !== expected) throw new Error(`expected the ${expected} node, served by the ${node}`);
      return row!.u;
    };
    let n = 0;
    const read = async (): Promise<string> => {
      // Repository reads go to a slave; so does a query runner created in 'slave' mode.
      if (n++ % 2 === 0) return check((await dataSource.getRepository(Session).find({ take: 1 }))[0], 'slave');
      const runner = dataSource.createQueryRunner('slave');
      try {
        return check(((await runner.query(SESSION_SQL[ctx.engine])) as Array<{ u: string; p: string }>)[0], 'slave');
      } finally {
        await runner.release();
      }
    };
    const write = async (manager: EntityManager): Promise<string> =>
      check(((await manager.query(SESSION_SQL[ctx.engine])) as Array<{ u: string; p: string }>)[0], 'master');
    return {
      query: read,
      transaction: (body) => inTransaction(dataSource, (manager) => body(() => write(manager))),
      async close() {
        await dataSource.destroy();
        await slave.close();
      },
    };
  },
});

describe.each(['postgres', 'mysql'] as const)('replication readerSource on %s', (engine) => {
  let sm: TestSecretsManager;
  let admin: Admin;
  beforeAll(async () => {
    sm = await startTestSecretsManager();
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    await admin?.close();
    await sm?.close();
  });

  it('source given as options: master and slaves share one source (one read), closed with the DataSource', async () => {
    // Prepare
    const user = await admin.createUser({ prefix: 'tsh' });
    const secretId = uniqueSecretName('tsh');
    await putDbSecret(sm.client, secretId, dbSecretFor(engine, user));
    const slave = await startFaultProxy({ target: admin.server, protocol: 'tcp' });
    const { host, port, database } = admin.server;
    const options = {
      type: engine === 'postgres' ? 'postgres' : 'mariadb',
      replication: { master: { host, port, database }, slaves: [{ host: 'localhost', port: slave.port, database }] },
      entities: [Session],
    } as DataSourceOptions;
    const dataSource = new DataSource(withRotatingCredentials(options, { secretId, client: sm.client }));
    sm.sm.resetCounters();
    let shared: { get(): Promise<unknown> } | undefined;
    try {
      // Act
      await dataSource.initialize();
      const read = (await dataSource.getRepository(Session).find({ take: 1 }))[0]!;
      const written = ((await dataSource.query(SESSION_SQL[engine])) as Array<{ u: string; p: string }>)[0]!;

      // Assess: both nodes served, by one source: one GetSecretValue in all
      expect([slave.upstreamPorts.has(Number(read.p)), slave.upstreamPorts.has(Number(written.p))]).toEqual([
        true,
        false,
      ]);
      expect(sm.sm.callCount('GetSecretValue')).toBe(1);
      if (engine === 'postgres') {
        const driver = dataSource.driver as unknown as {
          master: { source: unknown };
          slaves: Array<{ source: unknown }>;
        };
        expect(driver.slaves[0]!.source).toBe(driver.master.source);
        shared = driver.master.source as typeof shared;
      }
    } finally {
      await dataSource.destroy();
      await slave.close();
      await admin.dropUser(user.username);
    }
    // The adapter created it: closed with the last pool.
    if (shared) await expect(shared.get()).rejects.toThrow(/closed/);
  });

  it('slaves authenticate with readerSource, the master with source; each node keeps its host/port', async () => {
    const [writer, reader] = await Promise.all([
      admin.createUser({ prefix: 'trw' }),
      admin.createUser({ prefix: 'trr' }),
    ]);
    const [writerId, readerId] = [uniqueSecretName('trw'), uniqueSecretName('trr')];
    await putDbSecret(sm.client, writerId, dbSecretFor(engine, writer));
    await putDbSecret(sm.client, readerId, dbSecretFor(engine, reader));
    const slave = await startFaultProxy({ target: admin.server, protocol: 'tcp' });
    const { host, port, database } = admin.server;
    const replication = {
      master: { host, port, database },
      slaves: [{ host: 'localhost', port: slave.port, database }],
    };
    const options: DataSourceOptions = {
      type: engine === 'postgres' ? 'postgres' : 'mariadb',
      replication,
      entities: [Session],
    } as DataSourceOptions;
    const dataSource = new DataSource(
      withRotatingCredentials(
        options,
        { secretId: writerId, client: sm.client },
        { readerSource: { secretId: readerId, client: sm.client } },
      ),
    );
    try {
      await dataSource.initialize();
      const read = (await dataSource.getRepository(Session).find({ take: 1 }))[0]!;
      const written = ((await dataSource.query(SESSION_SQL[engine])) as Array<{ u: string; p: string }>)[0]!;
      expect([read.u.split('@')[0], slave.upstreamPorts.has(Number(read.p))]).toEqual([reader.username, true]);
      expect([written.u.split('@')[0], slave.upstreamPorts.has(Number(written.p))]).toEqual([writer.username, false]);
    } finally {
      await dataSource.destroy();
      await slave.close();
      await admin.dropUser(writer.username);
      await admin.dropUser(reader.username);
    }
  });
});
