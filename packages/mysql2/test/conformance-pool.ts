import type { ConformanceContext } from '@dbcreds/testbed';
import type { Pool } from 'mysql2';
import { createPool } from '../src/index.js';

/** The pool every conformance run of this package uses (directly, or under Drizzle / Kysely). */
export function conformancePool(ctx: ConformanceContext): Pool {
  return createPool(ctx.source, {
    host: ctx.host,
    port: ctx.port,
    database: ctx.database,
    connectionLimit: ctx.maxConnections,
    maxIdle: ctx.maxIdle,
    idleTimeout: ctx.idleTimeoutMs,
  });
}
