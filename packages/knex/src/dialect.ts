// `@dbcreds/knex/dialect`: the dialect-subclass mechanism alone. It imports no knex module, so
// callers holding their own copy of a knex dialect class (MikroORM 6 bundles knex) can use it.
import type { CredentialSource } from '@dbcreds/core';
import { applyCredentials, closeWith, hideConnectionPassword, type SecretEndpointFields } from '@dbcreds/core/adapter';

/** The members of a knex dialect instance (`Knex.Client` subclass) the subclass uses. */
export interface KnexDialect {
  connectionSettings: object;
  acquireRawConnection(): Promise<unknown>;
  destroy(callback?: unknown): Promise<void>;
}

/** A knex dialect class: knex's `lib/dialects/postgres` or `mysql2`, or a subclass (MikroORM 6's). */
// `...args: any[]`: the constructor type TypeScript requires of a mixin base.
export type KnexDialectClass = new (...args: any[]) => KnexDialect;

export interface RotatingDialectOptions {
  /** Which of host/port/database the secret supplies (core's `endpointFieldsFromSecret`). Required. */
  fill: SecretEndpointFields;
  /**
   * Connection settings without credentials, copied for every new connection. Default: the
   * dialect's own `connectionSettings` at construction, minus `user` and `password`.
   */
  base?: Record<string, unknown>;
  /** Close `source` after the dialect's `destroy()` (i.e. `knex.destroy()`). Default false. */
  closeSource?: boolean;
}

/**
 * Returns a subclass of `Dialect` whose `acquireRawConnection` writes user/password (and the
 * endpoint fields `fill` names) from `source` into the knex connection settings for every new
 * physical connection, inside `source.withAuthRetry` (refresh + one retry on an auth error).
 */
export function rotatingDialect<D extends KnexDialectClass>(
  Dialect: D,
  source: CredentialSource,
  { fill, base, closeSource = false }: RotatingDialectOptions,
): D {
  class RotatingCredentialsDialect extends Dialect {
    readonly #base: Record<string, unknown>;
    constructor(...args: any[]) {
      super(...args);
      const { user: _user, password: _password, ...own } = this.connectionSettings as Record<string, unknown>;
      this.#base = base ?? own;
    }

    override acquireRawConnection(): Promise<unknown> {
      return source.withAuthRetry((creds) => {
        // Dialects read `connectionSettings` synchronously when they build the driver connection,
        // so concurrent creations cannot see each other's settings.
        const settings = { ...this.#base };
        applyCredentials(settings, creds, fill);
        this.connectionSettings = settings;
        return super.acquireRawConnection().then((conn) => {
          hideConnectionPassword(conn); // the driver's copy (pg connectionParameters, mysql2 config)
          return conn;
        });
      });
    }

    override destroy(callback?: unknown): Promise<void> {
      return closeWith({ source, closeSource }, () => super.destroy(callback));
    }
  }
  Object.defineProperty(RotatingCredentialsDialect, 'name', { value: `RotatingCredentials(${Dialect.name})` });
  return RotatingCredentialsDialect;
}
