import { runConformanceSuite } from '@dbcreds/testbed';
import { conformanceSql } from './conformance-sql.js';

// Both backends: the SDK client, and the Secrets Manager Agent in front of the local Secrets Manager.
for (const backend of ['sdk', 'agent'] as const) {
  runConformanceSuite({
    name: '@dbcreds/postgres-js',
    backend,
    engines: ['postgres'],
    async create(ctx) {
      const sql = conformanceSql(ctx);
      return {
        query: async () => (await sql<Array<{ u: string }>>`select current_user as u`)[0]!.u,
        transaction: (body) =>
          sql.begin(async (tx) => {
            await body(async () => (await tx<Array<{ u: string }>>`select current_user as u`)[0]!.u);
          }) as Promise<void>,
        close: () => sql.end({ timeout: 5 }),
        inspectables: () => [sql, sql.options],
      };
    },
  });
}
