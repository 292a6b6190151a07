import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ScrubbedDriverError } from '../errors.js';
import { lazyModule } from './load.js';
import type { ConnectParams, DbAccount, DbSession, EngineDriver } from './types.js';

type Mysql2Promise = typeof import('mysql2/promise');

const loadMysql2 = lazyModule<Mysql2Promise>(() => import('mysql2/promise'), 'createConnection');

export const mysqlDriver: EngineDriver = {
  async connect(params: ConnectParams): Promise<DbSession> {
    const mysql = await loadMysql2();
    let conn: Connection;
    try {
      conn = await mysql.createConnection({
        host: params.host,
        port: params.port ?? 3306,
        user: params.user,
        password: params.password,
        ...(params.database === undefined ? {} : { database: params.database }),
        connectTimeout: params.connectTimeoutMs,
        multipleStatements: false,
        charset: 'utf8mb4_unicode_ci',
        ...(params.ssl === undefined || params.ssl === false ? {} : { ssl: params.ssl === true ? {} : params.ssl }),
      } as Parameters<Mysql2Promise['createConnection']>[0]);
    } catch (err) {
      throw new ScrubbedDriverError(err, [params.password]);
    }
    // From here on the connection is closed on any failure.
    try {
      const session = new MysqlSession(conn, params);
      await session.init();
      return session;
    } catch (err) {
      conn.destroy();
      throw err instanceof ScrubbedDriverError ? err : new ScrubbedDriverError(err, [params.password]);
    }
  },
};

class MysqlSession implements DbSession {
  private flavour: { mariadb: boolean; major: number } = { mariadb: true, major: 10 };
  constructor(
    private readonly conn: Connection,
    private readonly params: ConnectParams,
  ) {}

  /** Detects the flavour and makes sure backslash escaping (mysql2's `escape`) is in effect. */
  async init(): Promise<void> {
    const [rows] = await this.run<RowDataPacket[]>('SELECT VERSION() AS v, @@SESSION.sql_mode AS m', []);
    const version = String(rows[0]?.v ?? '');
    this.flavour = { mariadb: /mariadb/i.test(version), major: Number.parseInt(version, 10) || 0 };
    const modes = String(rows[0]?.m ?? '').split(',');
    if (modes.includes('NO_BACKSLASH_ESCAPES')) {
      const kept = modes.filter((m) => m !== 'NO_BACKSLASH_ESCAPES').join(',');
      await this.run(`SET SESSION sql_mode = ${this.conn.escape(kept)}`, []);
    }
  }

  /** MySQL 8+ dropped PASSWORD(); MariaDB and MySQL 5.x need it in SET PASSWORD. */
  private get modernMysql(): boolean {
    return !this.flavour.mariadb && this.flavour.major >= 8;
  }

  private async run<T>(sql: string, values: unknown[], secrets: readonly string[] = []): Promise<[T, unknown]> {
    try {
      // No `values` when there are no placeholders: a `?` inside an escaped literal must stay as is.
      const options = values.length === 0 ? { sql } : { sql, values };
      return (await this.conn.query({ ...options, timeout: this.params.queryTimeoutMs })) as [T, unknown];
    } catch (err) {
      throw new ScrubbedDriverError(err, [this.params.password, ...secrets]);
    }
  }

  private account(a: DbAccount): string {
    return `${this.conn.escape(a.user)}@${this.conn.escape(a.host ?? '%')}`;
  }

  async ping(): Promise<void> {
    await this.run('SELECT 1', []);
  }

  async currentAccount(): Promise<DbAccount> {
    const [rows] = await this.run<RowDataPacket[]>('SELECT CURRENT_USER() AS a', []);
    const a = String(rows[0]?.a ?? '');
    const at = a.lastIndexOf('@');
    return at < 0 ? { user: a, host: '%' } : { user: a.slice(0, at), host: a.slice(at + 1) };
  }

  async changeOwnPassword(newPassword: string): Promise<void> {
    const lit = this.conn.escape(newPassword);
    const sql = this.modernMysql ? `ALTER USER CURRENT_USER() IDENTIFIED BY ${lit}` : `SET PASSWORD = PASSWORD(${lit})`;
    await this.run(sql, [], [newPassword, lit]);
  }

  async upsertClone(source: DbAccount, target: string, newPassword: string): Promise<void> {
    const host = source.host ?? '%';
    const clone = this.account({ user: target, host });
    const lit = this.conn.escape(newPassword);
    const secrets = [newPassword, lit];
    const [exists] = await this.run<RowDataPacket[]>('SELECT 1 AS x FROM mysql.user WHERE User = ? AND Host = ?', [
      target,
      host,
    ]);
    if (exists.length === 0) {
      await this.run(`CREATE USER ${clone} IDENTIFIED BY ${lit}`, [], secrets);
    }
    // Copy grants every time, so grants added to the source since the clone was made follow.
    const [grants] = await this.run<RowDataPacket[]>(
      `SHOW GRANTS FOR ${this.account({ user: source.user, host })}`,
      [],
    );
    for (const row of grants) {
      const text = String(Object.values(row)[0] ?? '');
      const replay = retargetGrant(text, source.user, host, clone);
      if (replay !== undefined) await this.run(replay, []);
    }
    const setSql = this.modernMysql
      ? `ALTER USER ${clone} IDENTIFIED BY ${lit}`
      : `SET PASSWORD FOR ${clone} = PASSWORD(${lit})`;
    await this.run(setSql, [], secrets);
  }

  async close(): Promise<void> {
    try {
      await this.conn.end();
    } catch {
      this.conn.destroy();
    }
  }
}

/** The forms SHOW GRANTS uses to print an account (backticks on MySQL 8/MariaDB, quotes on 5.7). */
function renderedAccounts(user: string, host: string): string[] {
  const bt = (s: string) => `\`${s.replaceAll('`', '``')}\``;
  const sq = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  const sq2 = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return [`${bt(user)}@${bt(host)}`, `${sq(user)}@${sq(host)}`, `${sq2(user)}@${sq2(host)}`];
}

/**
 * Rewrites one SHOW GRANTS row so it applies to `clone`: `GRANT … TO <src> [WITH … OPTION]` and
 * MariaDB's `SET DEFAULT ROLE r FOR <src>`. Authentication clauses (`IDENTIFIED BY PASSWORD '<hash>'`,
 * `IDENTIFIED VIA …`) are dropped so the clone never inherits the source's password.
 * Returns undefined for rows it can't place (they are skipped).
 */
export function retargetGrant(row: string, user: string, host: string, clone: string): string | undefined {
  const keyword = /^\s*GRANT\b/i.test(row) ? ' TO ' : /^\s*SET DEFAULT ROLE\b/i.test(row) ? ' FOR ' : undefined;
  if (keyword === undefined) return undefined;
  for (const acct of renderedAccounts(user, host)) {
    const marker = `${keyword}${acct}`;
    const at = row.lastIndexOf(marker);
    if (at < 0) continue;
    const head = row.slice(0, at);
    let tail = row.slice(at + marker.length);
    tail = tail.replace(/^\s+IDENTIFIED\s+(BY|VIA|WITH)\b[\s\S]*?(?=\s+(REQUIRE|WITH)\s|$)/i, '');
    return `${head}${keyword}${clone}${tail}`;
  }
  return undefined;
}
