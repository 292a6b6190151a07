/**
 * Real servers for the rotation drill: a private scram-sha-256 PostgreSQL and the MariaDB on
 * 127.0.0.1:3306, plus the drill's view of the admin side channel (create/drop users, change
 * passwords, kill idle sessions, prove a password is rejected).
 *
 * The drill runs outside vitest, so it cannot use the test bed's `inject`-based `serverFor`. The
 * server start and the SQL are the `dbcreds` CLI's (`startEmbeddedPostgres`, `createDbAdmin`), the
 * same code behind the test bed and `dbcreds demo`.
 */
import { randomBytes } from 'node:crypto';
import { createDbAdmin, type ServerInfo, type StackEngine, startEmbeddedPostgres } from 'dbcreds/testing';

export type DrillEngine = StackEngine;

/** How to reach one server as its administrator. */
export type DrillServer = ServerInfo;

export interface StartedServer extends DrillServer {
  stop(): Promise<void>;
}

/** Runs `fn` with a short-lived admin connection to `server`. */
async function withAdmin(server: DrillServer, fn: (admin: ReturnType<typeof createDbAdmin>) => Promise<void>) {
  const admin = createDbAdmin(server);
  try {
    await fn(admin);
  } finally {
    await admin.close();
  }
}

/** Starts a private PostgreSQL with scram-sha-256 auth (old passwords are really rejected). */
export async function startPostgres(): Promise<StartedServer> {
  const embedded = await startEmbeddedPostgres({ maxConnections: 300 });
  const server = { ...embedded.server, database: 'drill' };
  try {
    await withAdmin(embedded.server, (admin) => admin.createDatabase(server.database));
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { ...server, stop: embedded.stop };
}

/** The MariaDB on 127.0.0.1:3306 (root, empty password); creates a database for this run. */
export async function useMariaDb(): Promise<StartedServer> {
  const info: DrillServer = {
    engine: 'mysql',
    host: '127.0.0.1',
    port: 3306,
    database: `drill_${randomBytes(4).toString('hex')}`,
    adminUser: 'root',
    adminPassword: '',
  };
  await withAdmin(info, (admin) => admin.createDatabase(info.database));
  return { ...info, stop: () => withAdmin(info, (admin) => admin.dropDatabase(info.database)) };
}

/** Admin side channel used by the drill (never by a contender). */
export interface DrillAdmin {
  createUser(prefix: string): Promise<{ username: string; password: string }>;
  dropUser(username: string): Promise<void>;
  /** A user that may create users and grant (master of an alternating-users rotation). */
  createMaster(prefix: string): Promise<{ username: string; password: string }>;
  /** ALTER USER … PASSWORD (the setSecret step of a single-user rotation). */
  setPassword(username: string, password: string): Promise<void>;
  /** Terminates the user's idle sessions, as a failover or restart would; returns how many. */
  killIdleSessions(username: string): Promise<number>;
  /** Resolves when the server rejects this login with 28P01 / 1045; throws otherwise. */
  expectLoginRejected(creds: { username: string; password: string }): Promise<void>;
  close(): Promise<void>;
}

/** The secret's value in the RDS JSON shape (engine, host, port, username, password, dbname). */
export function rdsSecretValue(server: DrillServer, login: { username: string; password: string }) {
  return {
    engine: server.engine,
    host: server.host,
    port: server.port,
    username: login.username,
    password: login.password,
    dbname: server.database,
  };
}

export function randomPassword(): string {
  return `D${randomBytes(18).toString('base64url')}9x`;
}

export async function createDrillAdmin(server: DrillServer): Promise<DrillAdmin> {
  const admin = createDbAdmin(server);
  const newLogin = (prefix: string) => ({
    username: `${prefix}_${randomBytes(4).toString('hex')}`,
    password: randomPassword(),
  });
  const rejected = server.engine === 'postgres' ? '28P01' : 'ER_ACCESS_DENIED_ERROR (1045)';
  return {
    async createUser(prefix) {
      const login = newLogin(prefix);
      await admin.createUser(login);
      await admin.grantDatabase(login.username, server.database);
      return login;
    },
    dropUser: (username) => admin.dropUser(username),
    async createMaster(prefix) {
      const login = newLogin(prefix);
      await admin.createUser(login, { master: true });
      return login;
    },
    setPassword: (username, password) => admin.setPassword(username, password),
    killIdleSessions: (username) => admin.killSessions(username, { idleOnly: true }),
    async expectLoginRejected(creds) {
      const code = await admin.loginError(creds, server.database);
      if (code === rejected) return;
      throw new Error(
        code === null
          ? `the server still accepts the old password of ${creds.username}`
          : `expected ${rejected} for the old password of ${creds.username}, got ${code}`,
      );
    },
    close: () => admin.close(),
  };
}
