import type { ConformanceContext } from '@dbcreds/testbed';
import { createSql } from '../src/index.js';

/** The sql every conformance run of this package uses (directly, or under Drizzle). */
export function conformanceSql(ctx: ConformanceContext) {
  return createSql(ctx.source, {
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    max: ctx.maxConnections,
    idle_timeout: ctx.idleTimeoutMs / 1000, // seconds
    onnotice: () => {},
  });
}
