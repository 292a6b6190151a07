import type { CredentialSource } from '@dbcreds/core';
import type { SecretEndpointFields } from '@dbcreds/core/adapter';
import { type KnexDialectClass, rotatingDialect } from '@dbcreds/knex/dialect';

/** The part of MikroORM 6's `AbstractSqlConnection` (`@mikro-orm/knex`) the hook uses. */
export interface KnexSqlConnection {
  type: 'read' | 'write';
  /** Protected in MikroORM 6: `knex({ client: Dialect, … })`, Dialect being MikroORM's knex dialect class. */
  createKnexClient(Dialect: KnexDialectClass): unknown;
}

/** MikroORM 6 builds its connections through knex (`@mikro-orm/knex`), which has this method. */
export function isKnexConnection(conn: object): conn is KnexSqlConnection {
  return typeof (conn as Partial<KnexSqlConnection>).createKnexClient === 'function';
}

/**
 * MikroORM 6: knex gets a subclass of MikroORM's own dialect class (`rotatingDialect` from
 * `@dbcreds/knex/dialect`) whose `acquireRawConnection` writes user/password (and host/port unless
 * explicit, primary only) from the secret into the knex connection settings for every new physical
 * connection, inside `source.withAuthRetry` (refresh + one retry on an auth error).
 */
export function hookKnexConnection(
  conn: KnexSqlConnection,
  source: CredentialSource,
  fill: SecretEndpointFields,
): void {
  const create = conn.createKnexClient.bind(conn);
  // Base settings: MikroORM's, without its default user (from the default clientUrl) and password.
  conn.createKnexClient = (Dialect) => create(rotatingDialect(Dialect, source, { fill }));
}
