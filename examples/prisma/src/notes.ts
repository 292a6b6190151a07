import type { CredentialSource } from '@dbcreds/core';
import { withRotatingCredentials } from '@dbcreds/prisma';
import type { NotesStore } from 'dbcreds/testing';
import { PrismaClient as MysqlPrismaClient } from './generated/mysql/client.js';
import { PrismaClient } from './generated/postgres/client.js';

/** The generated clients of both schemas have the same models; the store uses one shape. */
type Client = InstanceType<typeof PrismaClient>;

/** The notes table through Prisma; every new pooled connection takes its credentials from `source`. */
export function createNotesStore(source: CredentialSource, engine: 'postgres' | 'mysql'): NotesStore {
  // host, port and database come from the secret unless given in the third argument
  const prisma: Client =
    engine === 'postgres'
      ? new PrismaClient(withRotatingCredentials({}, source, { provider: 'postgres' }))
      : (new MysqlPrismaClient(withRotatingCredentials({}, source, { provider: 'mysql' })) as unknown as Client);
  return {
    list: (limit) =>
      prisma.note.findMany({ select: { id: true, author: true, body: true }, orderBy: { id: 'desc' }, take: limit }),
    create: (note) => prisma.note.create({ data: note, select: { id: true } }),
    async whoami() {
      const rows = await prisma.$queryRaw<Array<{ u: string }>>`SELECT CURRENT_USER AS u`;
      return rows[0]!.u;
    },
    close: () => prisma.$disconnect(),
  };
}
