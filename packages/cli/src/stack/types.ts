/** Database engines the stack can run: PostgreSQL, or a MySQL-protocol server (MariaDB/MySQL). */
export type StackEngine = 'postgres' | 'mysql';

/** How to reach a database server as its administrator (same shape as the test bed's `serverFor`). */
export interface ServerInfo {
  engine: StackEngine;
  host: string;
  port: number;
  /** An existing database the administrator can connect to. */
  database: string;
  adminUser: string;
  adminPassword: string;
}

/** Login credentials (the password is never logged). */
export interface Login {
  username: string;
  password: string;
}

/** Options of `DbAdmin.createUser`. */
export interface CreateLoginOptions {
  /** `false`: PostgreSQL `NOLOGIN` (login answers 28000), MySQL `ACCOUNT LOCK` (errno 4151). Default true. */
  login?: boolean;
  /** Every privilege and the right to grant them (PG `SUPERUSER`, MySQL `ALL ON *.* WITH GRANT OPTION`). Default false. */
  master?: boolean;
}

/**
 * Administrative side channel to the server, independent of the app's pools (a pool of at most 2
 * admin connections). The one implementation behind the CLI stack, the test bed's `createAdmin` and
 * the rotation drill. Identifiers are quoted; passwords are sent as literals/parameters, never logged.
 */
export interface DbAdmin {
  readonly engine: StackEngine;
  readonly server: ServerInfo;
  /** Runs one admin statement (PG: in `server.database`; parameters: `$1` on PG, `?` on MySQL); resolves to the rows. */
  exec(sql: string, params?: unknown[]): Promise<unknown[]>;
  /** Creates a user with this password (no grants unless `master`). */
  createUser(login: Login, opts?: CreateLoginOptions): Promise<void>;
  setPassword(username: string, password: string): Promise<void>;
  /** PG: LOGIN / NOLOGIN. MySQL: ACCOUNT UNLOCK / LOCK. */
  setLogin(username: string, allowed: boolean): Promise<void>;
  /** Full access on `database` (PG: also schema `public` when `database` is `server.database`). */
  grantDatabase(username: string, database: string): Promise<void>;
  /** Creates `to` with `password` and the privileges of `from` (MySQL: replayed grants; PG: GRANT from TO to). */
  cloneUser(from: string, to: string, password: string): Promise<void>;
  /** Terminates the sessions of these users (all, or only idle ones); resolves once the server no longer lists the killed ones (5 s at most). Returns how many. */
  killSessions(usernames: string | readonly string[], opts?: { idleOnly?: boolean }): Promise<number>;
  /** Number of sessions these users have open (the admin's own excluded). */
  countSessions(usernames: string | readonly string[]): Promise<number>;
  /** Kills the user's sessions, drops what it owns in `server.database` (PG) and the user, if it exists. */
  dropUser(username: string): Promise<void>;
  /** PG: `CREATE DATABASE … OWNER owner`; MySQL: `CREATE DATABASE` and a full grant to `owner`. */
  createDatabase(name: string, opts?: { owner?: string }): Promise<void>;
  /** Drops the database if it exists (PG: `WITH (FORCE)`). */
  dropDatabase(name: string): Promise<void>;
  /** Opens a fresh connection with `login` and runs `SELECT 1`: null when accepted, else the error the driver threw. */
  tryLogin(login: Login, opts?: { database?: string; timeoutMs?: number }): Promise<Error | null>;
  /** The server's auth error for this login ('28P01', '28000', 'ER_ACCESS_DENIED_ERROR (1045)'), or null when accepted; other errors throw. */
  loginError(login: Login, database: string): Promise<string | null>;
  /** Creates the database, the app user (owner of a `notes` table) and returns nothing secret. */
  setupApp(app: { database: string; username: string; password: string }): Promise<void>;
  /** Creates a login with every privilege and the right to grant them (master for alternating users). */
  createMaster(login: Login): Promise<void>;
  /** Drops the database and the given users (if they exist). */
  dropApp(app: { database: string; usernames: string[] }): Promise<void>;
  close(): Promise<void>;
}
