/** Connection parameters for one login. */
export interface ConnectParams {
  host: string;
  port: number | undefined;
  user: string;
  password: string;
  database: string | undefined;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  ssl: boolean | Record<string, unknown> | undefined;
}

/** A logged-in session. Every method throws a ScrubbedDriverError on failure. */
export interface DbSession {
  /** `SELECT 1` round trip. */
  ping(): Promise<void>;
  /** The authenticated account: `{user, host}` for MySQL (host part of the account), `{user}` for PostgreSQL. */
  currentAccount(): Promise<DbAccount>;
  /** Changes the session user's own password (single-user). */
  changeOwnPassword(newPassword: string): Promise<void>;
  /**
   * As a privileged user: create `target` when missing (same host for MySQL), give it the privileges
   * of `source` (MySQL: replay SHOW GRANTS; PostgreSQL: GRANT source TO target), set its password.
   */
  upsertClone(source: DbAccount, target: string, newPassword: string): Promise<void>;
  close(): Promise<void>;
}

export interface DbAccount {
  user: string;
  host?: string;
}

export interface EngineDriver {
  connect(params: ConnectParams): Promise<DbSession>;
}
