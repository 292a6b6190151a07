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

/** Administrative side channel to the server, independent of the app's pools. */
export interface DbAdmin {
  readonly engine: StackEngine;
  /** Creates the database, the app user (owner of a `notes` table) and returns nothing secret. */
  setupApp(app: { database: string; username: string; password: string }): Promise<void>;
  /** Creates a login with every privilege and the right to grant them (MySQL master for alternating users). */
  createMaster(login: Login): Promise<void>;
  /** Terminates every session of these users; resolves once the server lists none. Returns how many. */
  killSessions(usernames: string[]): Promise<number>;
  /** Opens a fresh connection with these credentials: the server's auth error code, or null when accepted. */
  loginError(login: Login, database: string): Promise<string | null>;
  /** Drops the database and the given users (if they exist). */
  dropApp(app: { database: string; usernames: string[] }): Promise<void>;
  close(): Promise<void>;
}
