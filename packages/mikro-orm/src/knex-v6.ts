import { applyCredentials, type CredentialSource } from '@dbcreds/core';

/** The part of MikroORM 6's `AbstractSqlConnection` (`@mikro-orm/knex`) the hook uses. */
export interface KnexSqlConnection {
  type: 'read' | 'write';
  /** Protected in MikroORM 6: `knex({ client: Dialect, … })`, Dialect being MikroORM's knex dialect class. */
  createKnexClient(Dialect: KnexDialectClass): unknown;
}

/** A knex dialect class (`knex/lib/dialects/postgres` or `mysql2`, as subclassed by MikroORM 6). */
type KnexDialectClass = new (
  config: object,
) => {
  connectionSettings: Record<string, unknown>;
  acquireRawConnection(): Promise<unknown>;
};

/** MikroORM 6 builds its connections through knex (`@mikro-orm/knex`), which has this method. */
export function isKnexConnection(conn: object): conn is KnexSqlConnection {
  return typeof (conn as Partial<KnexSqlConnection>).createKnexClient === 'function';
}

/**
 * MikroORM 6: knex gets a subclass of MikroORM's own dialect class (the `@dbcreds/knex`
 * mechanism) whose `acquireRawConnection` writes user/password (and host/port unless explicit,
 * primary only) from the secret into the knex connection settings for every new physical
 * connection, inside `source.withAuthRetry` (refresh + one retry on an auth error).
 */
export function hookKnexConnection(
  conn: KnexSqlConnection,
  source: CredentialSource,
  explicit: { host: boolean; port: boolean },
): void {
  const fill = {
    host: conn.type === 'write' && !explicit.host,
    port: conn.type === 'write' && !explicit.port,
    database: false, // MikroORM requires dbName
  };
  const create = conn.createKnexClient.bind(conn);
  conn.createKnexClient = (Dialect) => {
    class RotatingCredentialsDialect extends Dialect {
      // MikroORM's settings without its default user (from the default clientUrl) and password.
      readonly #base: Record<string, unknown>;
      constructor(config: object) {
        super(config);
        const { user: _user, password: _password, ...base } = this.connectionSettings;
        this.#base = base;
      }

      override acquireRawConnection(): Promise<unknown> {
        return source.withAuthRetry((creds) => {
          // knex dialects read `connectionSettings` synchronously when they build the driver
          // connection, so concurrent creations cannot see each other's settings.
          const settings = { ...this.#base };
          applyCredentials(settings, creds, fill);
          this.connectionSettings = settings;
          return super.acquireRawConnection();
        });
      }
    }
    Object.defineProperty(RotatingCredentialsDialect, 'name', { value: `RotatingCredentials(${Dialect.name})` });
    return create(RotatingCredentialsDialect);
  };
}
