/**
 * postgres.js' own `sql`, each of whose connections takes user and password from a CredentialSource: this
 * package opens the connection (postgres.js' `socket` option) inside `source.withAuthRetry`, so a login
 * the server refuses refreshes the secret and logs in once more before postgres.js sees the refusal.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { CredentialSource, CredentialSourceOptions, DbCredentials } from '@dbcreds/core';
import {
  adoptSource,
  checkOptions,
  closeWith,
  endpointFieldsFromSecret,
  endpointFromSecret,
  iamDriverRequirements,
  loadPeer,
} from '@dbcreds/core/adapter';
import { ConfigurationError, isAuthError } from '@dbcreds/core';
import type postgres from 'postgres';
import { type LoginWatch, watchLogin } from './login.js';
import peerRequire from './require.cjs';
import type { RetryingSql, RetryingSqlOptions } from './types.js';

const PKG = '@dbcreds/postgres-js';

type Deferred<T> = { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void };

function deferred<T>(): Deferred<T> {
  const d = {} as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => Object.assign(d, { resolve, reject }));
  return d;
}

/** A second login, waiting for postgres.js to reconnect after a withheld refusal (see `openSocket`). */
type Retry = { creds: Deferred<DbCredentials>; outcome: Deferred<void> };

/**
 * `postgres(options)` whose every new connection logs in with the source's credentials (user per connection:
 * alternating users work). A login refused for credentials (28P01, 28000) refreshes the secret through
 * `source.withAuthRetry` and logs in once more; the query that waited for that connection never notices.
 * Queries on open connections are untouched. `source`: a CredentialSource, or its options (then `sql.end()`
 * closes it).
 */
export function createSql<T extends Record<string, postgres.PostgresType> = {}>(
  source: CredentialSource | CredentialSourceOptions,
  options: RetryingSqlOptions<T> = {},
): RetryingSql<T> {
  checkOptions('postgres-js', options, 'the options', {
    forbidden: ['user', 'username', 'pass', 'password', 'hostname', 'path', 'socket', 'ssl'],
    why: 'user and password come from the secret; use host (one string), port and database; postgres.js connects through this package (socket), which does not speak TLS yet (ssl)',
  });
  if (Array.isArray(options.host) || Array.isArray(options.port)) {
    throw new ConfigurationError(`${PKG}: host and port take one server (no lists)`, { keys: ['host', 'port'] });
  }
  const postgresJs = loadPeer<typeof postgres>(peerRequire, 'postgres', PKG); // before a source is created
  const { closeSource, ...config } = options as RetryingSqlOptions<T> & Record<string, unknown>;
  const adopted = adoptSource(source, closeSource);
  iamDriverRequirements('postgres-js', adopted.source, 'postgres', config);
  const from = endpointFieldsFromSecret(config);
  const retries: Retry[] = [];
  let authenticating: DbCredentials | undefined;

  const watch = (creds: DbCredentials, retry?: Retry): LoginWatch => ({
    PostgresError: postgresJs.PostgresError,
    deliver(send) {
      authenticating = creds; // postgres.js asks for the password while handling these messages
      send(); // postgres.js catches its own errors while parsing
      authenticating = undefined;
    },
    retry(err) {
      if (!retry || !isAuthError(err)) return false;
      retries.push(retry); // before the close: the reconnect it causes takes this second login
      return true;
    },
  });

  /** One login: a socket to the server, the startup user and database set for it, the outcome watched. */
  async function login(creds: DbCredentials, retry?: Retry): Promise<{ socket: Socket; outcome: Promise<void> }> {
    const endpoint = endpointFromSecret(creds, from); // throws (no host) before anything connects
    const at = { host: config.host ?? endpoint.host, port: config.port ?? endpoint.port ?? 5432 };
    const socket = Object.assign(connect(at), at); // postgres.js names host and port in its connection errors
    await once(socket, 'connect'); // rejects with a connect error (postgres.js fails the waiting query with it)
    // Read by postgres.js' startup message within this event's microtasks, before any other socket's event.
    Object.assign(sql.options.connection, {
      user: creds.username,
      database: config.database ?? endpoint.database ?? creds.username,
    });
    return { socket, outcome: watchLogin(socket, watch(creds, retry)) };
  }

  /** postgres.js' `socket` option: called for each connection attempt (and for cancel requests). */
  function openSocket(): Promise<Socket> {
    const second = retries.shift();
    if (second) {
      return second.creds.promise
        .then((creds) => login(creds))
        .then(
          ({ socket, outcome }) => {
            outcome.then(second.outcome.resolve, second.outcome.reject);
            return socket;
          },
          (err: unknown) => {
            second.outcome.reject(err); // the second attempt failed before its login
            throw err;
          },
        );
    }
    const retry: Retry = { creds: deferred(), outcome: deferred() };
    retry.creds.promise.catch(() => {}); // handled where a reconnect takes it; sql.end() may leave none
    let first = true;
    return new Promise<Socket>((resolve, reject) => {
      adopted.source
        .withAuthRetry(async (creds) => {
          if (!first) {
            retry.creds.resolve(creds); // the reconnect postgres.js makes after the withheld refusal logs in with these
            return retry.outcome.promise;
          }
          first = false;
          const { socket, outcome } = await login(creds, retry);
          resolve(socket);
          return outcome;
        })
        .catch((err: unknown) => {
          reject(err); // no socket yet (no host, server unreachable): postgres.js fails the waiting query with it
          retry.creds.reject(err); // the refresh failed: the reconnect fails with the refused login's error
        });
    });
  }

  const sql = postgresJs({
    ...(config as postgres.Options<T>),
    pass: () => authenticating?.password ?? '',
    socket: openSocket,
  } as postgres.Options<T>);
  const end = sql.end;
  sql.end = (o) => closeWith(adopted, () => end(o));
  return sql as RetryingSql<T>;
}
