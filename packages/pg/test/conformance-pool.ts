import type { ConformanceContext } from '@dbcreds/testbed';
import { createPool, type RetryingPool } from '../src/index.js';

/** The pool every conformance run of this package uses (directly, or under Drizzle / Kysely). */
export function conformancePool(ctx: ConformanceContext): RetryingPool {
  return createPool(ctx.source, {
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    max: ctx.maxConnections,
    idleTimeoutMillis: ctx.idleTimeoutMs,
  });
}
