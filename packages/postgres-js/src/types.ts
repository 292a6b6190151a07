import type postgres from 'postgres';

/**
 * postgres.js' options without the keys the secret provides (`user`, `username`, `pass`, `password`) or
 * this package owns (`socket`: it opens each connection), one host and port, plus `closeSource`.
 */
export type RetryingSqlOptions<T extends Record<string, postgres.PostgresType> = {}> = Omit<
  postgres.Options<T>,
  'user' | 'username' | 'pass' | 'password' | 'host' | 'hostname' | 'port' | 'ssl'
> & {
  /** Server host. Default: the secret's `host` (an RDS-managed secret has none: then set it). */
  host?: string;
  /** Server port. Default: the secret's `port`, else 5432. */
  port?: number;
  /** Close the source on `sql.end()`. Default: true when `source` was given as options (createSql created it). */
  closeSource?: boolean;
};

/** What `createSql` returns: postgres.js' own `Sql`, typed as `postgres(options)` types it. */
export type RetryingSql<T extends Record<string, postgres.PostgresType> = {}> = postgres.Sql<
  Record<string, postgres.PostgresType> extends T
    ? {}
    : { [K in keyof T]: T[K] extends { serialize: (value: infer R) => any; parse: (raw: any) => infer R } ? R : never }
>;
