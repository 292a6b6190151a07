import { noteOf } from './sql.js';
import type { LibraryEntry, NoteInput } from './types.js';

/** Prisma (driver adapters adapter-pg / adapter-mariadb) through `withRotatingCredentials` from `@dbcreds/prisma`. */
export const prisma: LibraryEntry = {
  name: 'prisma',
  packages: ['@dbcreds/prisma'],
  engines: ['postgres', 'mysql'],
  peers: {
    any: ['@prisma/client', '@dbcreds/prisma'],
    postgres: ['@prisma/adapter-pg'],
    mysql: ['@prisma/adapter-mariadb', 'mariadb'],
  },
  async connect(o) {
    const { withRotatingCredentials } = await import('@dbcreds/prisma');
    // Clients generated from prisma/{postgres,mysql}.prisma (the `notes` model; committed, compiled to dist by tsc).
    const { PrismaClient } = await import('../demo/generated/postgres/client.js');
    type Client = InstanceType<typeof PrismaClient>;
    const where = { host: o.host, port: o.port, database: o.database };
    const db: Client =
      o.engine === 'postgres'
        ? new PrismaClient(
            withRotatingCredentials({}, o.source, {
              provider: 'postgres',
              ...where,
              pool: { max: o.pool.max, idleTimeoutMillis: o.pool.idleTimeoutMs },
            }),
          )
        : // Same model, generated for the mysql provider.
          (new (await import('../demo/generated/mysql/client.js')).PrismaClient(
            withRotatingCredentials({}, o.source, {
              provider: 'mysql',
              ...where,
              // mariadb's idleTimeout is in seconds
              pool: { connectionLimit: o.pool.max, idleTimeout: Math.max(1, Math.round(o.pool.idleTimeoutMs / 1000)) },
            }),
          ) as unknown as Client);
    const currentUser = o.engine === 'postgres' ? 'SELECT current_user AS u' : 'SELECT CURRENT_USER() AS u';
    type Tx = Pick<Client, 'note' | '$queryRaw' | '$queryRawUnsafe'>;
    const work = (q: Tx, inTx: boolean) => async (note?: NoteInput) => {
      if (o.workload === 'select-1') return q.$queryRaw`SELECT 1`;
      if (o.workload === 'current-user') return ((await q.$queryRawUnsafe(currentUser)) as Array<{ u: string }>)[0]!.u;
      const { author, body } = noteOf(note);
      await q.note.create({ data: { author, body } });
      if (inTx) return q.note.count({ where: { author } });
      return q.note.findMany({ select: { id: true, body: true }, where: { author }, orderBy: { id: 'desc' }, take: 5 });
    };
    return {
      query: work(db, false),
      transaction: async (body) => {
        await db.$transaction(async (tx) => body(work(tx, true)));
      },
      close: () => db.$disconnect(),
      inspectables: () => [db],
    };
  },
};
