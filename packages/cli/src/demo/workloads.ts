import type { CredentialSource } from '@dbcreds/core';
import type { OrmName } from '../args.js';
import { inTransaction, pgTransactional } from '../stack/transaction.js';
import type { StackEngine } from '../stack/types.js';

/** Everything a workload needs; user and password always come from `source`. */
export interface WorkloadContext {
  engine: StackEngine;
  source: CredentialSource;
  host: string;
  port: number;
  database: string;
  /** Pool size. */
  poolMax: number;
  /** Idle connections are closed after this many ms (short, so rotations bite). */
  idleTimeoutMs: number;
}

/** A small app doing real reads and writes on the `notes` table through one library. */
export interface Workload {
  /** One unit of work by `worker`: a write and a read; every 4th inside a transaction. */
  step(worker: number, n: number): Promise<void>;
  close(): Promise<void>;
}

const author = (w: number) => `worker-${w}`;
const inTx = (n: number) => n % 4 === 3;

async function knexWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { default: knex } = await import('knex');
  const { withRotatingCredentials } = await import('@dbcreds/knex');
  const db = knex(
    withRotatingCredentials(
      {
        client: ctx.engine === 'postgres' ? 'pg' : 'mysql2',
        connection: { host: ctx.host, port: ctx.port, database: ctx.database },
        pool: { min: 0, max: ctx.poolMax, idleTimeoutMillis: ctx.idleTimeoutMs, reapIntervalMillis: 100 },
        // knex warns "Connection Error" for every idle connection the demo terminates on purpose.
        log: { warn: () => {}, error: () => {}, deprecate: () => {}, debug: () => {} },
      },
      ctx.source,
    ),
  );
  return {
    async step(w, n) {
      if (inTx(n)) {
        await db.transaction(async (trx) => {
          await trx('notes').insert({ author: author(w), body: `note ${n} (tx)` });
          await trx('notes')
            .where({ author: author(w) })
            .count({ n: '*' });
        });
        return;
      }
      await db('notes').insert({ author: author(w), body: `note ${n}` });
      await db('notes')
        .select('id', 'body')
        .where({ author: author(w) })
        .orderBy('id', 'desc')
        .limit(5);
    },
    close: () => db.destroy(),
  };
}

async function pgWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { createPool } = await import('@dbcreds/pg');
  const pool = createPool(ctx.source, {
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    max: ctx.poolMax,
    idleTimeoutMillis: ctx.idleTimeoutMs,
  });
  return {
    async step(w, n) {
      if (inTx(n)) {
        const client = await pool.connect();
        await inTransaction(pgTransactional(client), async () => {
          await client.query('INSERT INTO notes (author, body) VALUES ($1, $2)', [author(w), `note ${n} (tx)`]);
          await client.query('SELECT count(*) FROM notes WHERE author = $1', [author(w)]);
        });
        return;
      }
      await pool.query('INSERT INTO notes (author, body) VALUES ($1, $2)', [author(w), `note ${n}`]);
      await pool.query('SELECT id, body FROM notes WHERE author = $1 ORDER BY id DESC LIMIT 5', [author(w)]);
    },
    close: () => pool.end(),
  };
}

async function mysql2Workload(ctx: WorkloadContext): Promise<Workload> {
  const { createPool } = await import('@dbcreds/mysql2');
  const pool = createPool(ctx.source, {
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    connectionLimit: ctx.poolMax,
    maxIdle: 0,
    idleTimeout: ctx.idleTimeoutMs,
  });
  const db = pool.promise();
  return {
    async step(w, n) {
      if (inTx(n)) {
        const conn = await db.getConnection();
        const tx = {
          begin: () => conn.beginTransaction(),
          commit: () => conn.commit(),
          rollback: () => conn.rollback(),
        };
        await inTransaction({ ...tx, release: () => conn.release() }, async () => {
          await conn.query('INSERT INTO notes (author, body) VALUES (?, ?)', [author(w), `note ${n} (tx)`]);
          await conn.query('SELECT count(*) AS n FROM notes WHERE author = ?', [author(w)]);
        });
        return;
      }
      await db.query('INSERT INTO notes (author, body) VALUES (?, ?)', [author(w), `note ${n}`]);
      await db.query('SELECT id, body FROM notes WHERE author = ? ORDER BY id DESC LIMIT 5', [author(w)]);
    },
    close: () => db.end(),
  };
}

interface NoteRow {
  id: number;
  author: string;
  body: string;
}

async function typeormWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { DataSource, EntitySchema } = await import('typeorm');
  const { withRotatingCredentials } = await import('@dbcreds/typeorm');
  const Note = new EntitySchema<NoteRow>({
    name: 'Note',
    tableName: 'notes',
    columns: {
      id: { type: Number, primary: true, generated: true },
      author: { type: String },
      body: { type: String },
    },
  });
  const common = { host: ctx.host, port: ctx.port, database: ctx.database, entities: [Note], poolSize: ctx.poolMax };
  const ds = new DataSource(
    ctx.engine === 'postgres'
      ? withRotatingCredentials(
          { type: 'postgres', ...common, extra: { idleTimeoutMillis: ctx.idleTimeoutMs } },
          ctx.source,
        )
      : withRotatingCredentials(
          { type: 'mysql', ...common, extra: { maxIdle: 0, idleTimeout: ctx.idleTimeoutMs } },
          ctx.source,
        ),
  );
  await ds.initialize();
  const notes = ds.getRepository(Note);
  return {
    async step(w, n) {
      if (inTx(n)) {
        await ds.transaction(async (em) => {
          await em.insert(Note, { author: author(w), body: `note ${n} (tx)` });
          await em.count(Note, { where: { author: author(w) } });
        });
        return;
      }
      await notes.insert({ author: author(w), body: `note ${n}` });
      await notes.find({ where: { author: author(w) }, order: { id: 'DESC' }, take: 5 });
    },
    close: () => ds.destroy(),
  };
}

async function mikroOrmWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { EntitySchema, MikroORM } = await import('@mikro-orm/core');
  const { withRotatingCredentials } = await import('@dbcreds/mikro-orm');
  const Note = new EntitySchema<NoteRow>({
    name: 'Note',
    tableName: 'notes',
    properties: {
      id: { type: 'number', primary: true, autoincrement: true },
      author: { type: 'string' },
      body: { type: 'string' },
    },
  });
  const common = {
    host: ctx.host,
    port: ctx.port,
    dbName: ctx.database,
    entities: [Note],
    pool: { min: 0, max: ctx.poolMax, idleTimeoutMillis: ctx.idleTimeoutMs },
    debug: false,
  };
  const orm =
    ctx.engine === 'postgres'
      ? await MikroORM.init(
          withRotatingCredentials(
            { driver: (await import('@mikro-orm/postgresql')).PostgreSqlDriver, ...common },
            ctx.source,
          ),
        )
      : await MikroORM.init(
          withRotatingCredentials({ driver: (await import('@mikro-orm/mysql')).MySqlDriver, ...common }, ctx.source),
        );
  return {
    async step(w, n) {
      if (inTx(n)) {
        await orm.em.fork().transactional(async (em) => {
          em.create(Note, { author: author(w), body: `note ${n} (tx)` });
          await em.flush();
          await em.count(Note, { author: author(w) });
        });
        return;
      }
      const em = orm.em.fork();
      em.create(Note, { author: author(w), body: `note ${n}` });
      await em.flush();
      await em.find(Note, { author: author(w) }, { orderBy: { id: 'desc' }, limit: 5 });
    },
    close: () => orm.close(),
  };
}

async function prismaWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { withRotatingCredentials } = await import('@dbcreds/prisma');
  // Prisma clients generated from prisma/{postgres,mysql}.prisma (committed, compiled to dist by tsc).
  const { PrismaClient } = await import('./generated/postgres/client.js');
  type Client = InstanceType<typeof PrismaClient>;
  const where = { host: ctx.host, port: ctx.port, database: ctx.database };
  const prisma: Client =
    ctx.engine === 'postgres'
      ? new PrismaClient(
          withRotatingCredentials({}, ctx.source, {
            provider: 'postgres',
            ...where,
            pool: { max: ctx.poolMax, idleTimeoutMillis: ctx.idleTimeoutMs },
          }),
        )
      : // Same model, generated for the mysql provider.
        (new (await import('./generated/mysql/client.js')).PrismaClient(
          withRotatingCredentials({}, ctx.source, {
            provider: 'mysql',
            ...where,
            // mariadb's idleTimeout is in seconds
            pool: { connectionLimit: ctx.poolMax, idleTimeout: Math.max(1, Math.round(ctx.idleTimeoutMs / 1000)) },
          }),
        ) as unknown as Client);
  return {
    async step(w, n) {
      if (inTx(n)) {
        await prisma.$transaction(async (tx) => {
          await tx.note.create({ data: { author: author(w), body: `note ${n} (tx)` } });
          await tx.note.count({ where: { author: author(w) } });
        });
        return;
      }
      await prisma.note.create({ data: { author: author(w), body: `note ${n}` } });
      await prisma.note.findMany({
        select: { id: true, body: true },
        where: { author: author(w) },
        orderBy: { id: 'desc' },
        take: 5,
      });
    },
    close: () => prisma.$disconnect(),
  };
}

async function drizzleWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { count, desc, eq } = await import('drizzle-orm');
  const where = { host: ctx.host, port: ctx.port, database: ctx.database };
  // The node-postgres and mysql2 databases and tables differ in type only: one set of queries serves both.
  let db: any;
  let notes: any;
  let close: () => Promise<void>;
  if (ctx.engine === 'postgres') {
    const { pgTable, serial, text } = await import('drizzle-orm/pg-core');
    const pool = (await import('@dbcreds/pg')).createPool(ctx.source, {
      ...where,
      max: ctx.poolMax,
      idleTimeoutMillis: ctx.idleTimeoutMs,
    });
    db = (await import('drizzle-orm/node-postgres')).drizzle(pool);
    notes = pgTable('notes', { id: serial('id').primaryKey(), author: text('author'), body: text('body') });
    close = () => pool.end();
  } else {
    const { int, mysqlTable, varchar } = await import('drizzle-orm/mysql-core');
    const pool = (await import('@dbcreds/mysql2')).createPool(ctx.source, {
      ...where,
      connectionLimit: ctx.poolMax,
      maxIdle: 0,
      idleTimeout: ctx.idleTimeoutMs,
    });
    db = (await import('drizzle-orm/mysql2')).drizzle(pool);
    const column = (name: string) => varchar(name, { length: 255 });
    notes = mysqlTable('notes', {
      id: int('id').autoincrement().primaryKey(),
      author: column('author'),
      body: column('body'),
    });
    close = () => pool.promise().end();
  }
  return {
    async step(w, n) {
      if (inTx(n)) {
        await db.transaction(async (tx: any) => {
          await tx.insert(notes).values({ author: author(w), body: `note ${n} (tx)` });
          await tx
            .select({ n: count() })
            .from(notes)
            .where(eq(notes.author, author(w)));
        });
        return;
      }
      await db.insert(notes).values({ author: author(w), body: `note ${n}` });
      await db
        .select({ id: notes.id, body: notes.body })
        .from(notes)
        .where(eq(notes.author, author(w)))
        .orderBy(desc(notes.id))
        .limit(5);
    },
    close,
  };
}

interface KyselyDatabase {
  notes: { id: import('kysely').Generated<number>; author: string; body: string };
}

async function kyselyWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { Kysely, MysqlDialect, PostgresDialect } = await import('kysely');
  const where = { host: ctx.host, port: ctx.port, database: ctx.database };
  const dialect =
    ctx.engine === 'postgres'
      ? new PostgresDialect({
          pool: (await import('@dbcreds/pg')).createPool(ctx.source, {
            ...where,
            max: ctx.poolMax,
            idleTimeoutMillis: ctx.idleTimeoutMs,
          }),
        })
      : new MysqlDialect({
          pool: (await import('@dbcreds/mysql2')).createPool(ctx.source, {
            ...where,
            connectionLimit: ctx.poolMax,
            maxIdle: 0,
            idleTimeout: ctx.idleTimeoutMs,
          }),
        });
  const db = new Kysely<KyselyDatabase>({ dialect });
  return {
    async step(w, n) {
      if (inTx(n)) {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('notes')
            .values({ author: author(w), body: `note ${n} (tx)` })
            .execute();
          await trx
            .selectFrom('notes')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('author', '=', author(w))
            .execute();
        });
        return;
      }
      await db
        .insertInto('notes')
        .values({ author: author(w), body: `note ${n}` })
        .execute();
      await db
        .selectFrom('notes')
        .select(['id', 'body'])
        .where('author', '=', author(w))
        .orderBy('id', 'desc')
        .limit(5)
        .execute();
    },
    close: () => db.destroy(),
  };
}

async function sequelizeWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { DataTypes, Sequelize } = await import('sequelize');
  const { withRotatingCredentials } = await import('@dbcreds/sequelize');
  const sequelize = new Sequelize(
    withRotatingCredentials(
      {
        dialect: ctx.engine === 'postgres' ? 'postgres' : 'mysql',
        host: ctx.host,
        port: ctx.port,
        database: ctx.database,
        pool: { min: 0, max: ctx.poolMax, idle: ctx.idleTimeoutMs, evict: 100 },
        logging: false,
      },
      ctx.source,
    ),
  );
  const Note = sequelize.define(
    'Note',
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      author: DataTypes.STRING,
      body: DataTypes.STRING,
    },
    { tableName: 'notes', timestamps: false },
  );
  return {
    async step(w, n) {
      if (inTx(n)) {
        await sequelize.transaction(async (transaction) => {
          await Note.create({ author: author(w), body: `note ${n} (tx)` }, { transaction });
          await Note.count({ where: { author: author(w) }, transaction });
        });
        return;
      }
      await Note.create({ author: author(w), body: `note ${n}` });
      await Note.findAll({
        attributes: ['id', 'body'],
        where: { author: author(w) },
        order: [['id', 'DESC']],
        limit: 5,
      });
    },
    close: () => sequelize.close(),
  };
}

// postgres.js (issue #25; to move into the library catalog)
async function postgresJsWorkload(ctx: WorkloadContext): Promise<Workload> {
  const { createSql } = await import('@dbcreds/postgres-js');
  const sql = createSql(ctx.source, {
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    max: ctx.poolMax,
    idle_timeout: ctx.idleTimeoutMs / 1000, // seconds
    onnotice: () => {},
  });
  return {
    async step(w, n) {
      if (inTx(n)) {
        await sql.begin(async (tx) => {
          await tx`insert into notes (author, body) values (${author(w)}, ${`note ${n} (tx)`})`;
          await tx`select count(*) from notes where author = ${author(w)}`;
        });
        return;
      }
      await sql`insert into notes (author, body) values (${author(w)}, ${`note ${n}`})`;
      await sql`select id, body from notes where author = ${author(w)} order by id desc limit 5`;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

const FACTORIES: Record<OrmName, (ctx: WorkloadContext) => Promise<Workload>> = {
  knex: knexWorkload,
  typeorm: typeormWorkload,
  'mikro-orm': mikroOrmWorkload,
  pg: pgWorkload,
  mysql2: mysql2Workload,
  prisma: prismaWorkload,
  drizzle: drizzleWorkload,
  kysely: kyselyWorkload,
  sequelize: sequelizeWorkload,
  'postgres-js': postgresJsWorkload,
};

/** Builds the workload for `orm` (loaded lazily, so only the chosen library is imported). */
export async function createWorkload(orm: OrmName, ctx: WorkloadContext): Promise<Workload> {
  return await FACTORIES[orm](ctx);
}
