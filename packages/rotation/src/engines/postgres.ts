import type { Client, ClientConfig } from 'pg';
import { ScrubbedDriverError } from '../errors.js';
import { lazyModule } from './load.js';
import type { ConnectParams, DbAccount, DbSession, EngineDriver } from './types.js';

type PgModule = typeof import('pg');

const loadPg = lazyModule<PgModule>(() => import('pg'), 'Client');

export const postgresDriver: EngineDriver = {
  async connect(params: ConnectParams): Promise<DbSession> {
    const pg = await loadPg();
    const config: ClientConfig = {
      host: params.host,
      port: params.port ?? 5432,
      user: params.user,
      password: params.password,
      database: params.database ?? 'postgres',
      connectionTimeoutMillis: params.connectTimeoutMs,
      query_timeout: params.queryTimeoutMs,
      statement_timeout: params.queryTimeoutMs,
      application_name: 'dbcreds-rotation',
      ...(params.ssl === undefined ? {} : { ssl: params.ssl as ClientConfig['ssl'] }),
    };
    const client = new pg.Client(config);
    // A dropped connection emits 'error' on the client; without a listener it would crash the process.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw new ScrubbedDriverError(err, [params.password]);
    }
    return new PgSession(client, params);
  },
};

class PgSession implements DbSession {
  constructor(
    private readonly client: Client,
    private readonly params: ConnectParams,
  ) {}

  private async run(sql: string, values: unknown[], secrets: readonly string[] = []): Promise<{ rowCount: number }> {
    try {
      const r = await this.client.query(sql, values);
      return { rowCount: r.rowCount ?? 0 };
    } catch (err) {
      throw new ScrubbedDriverError(err, [this.params.password, ...secrets]);
    }
  }

  async ping(): Promise<void> {
    await this.run('SELECT 1', []);
  }

  async currentAccount(): Promise<DbAccount> {
    const r = await this.client.query<{ u: string }>('SELECT current_user AS u').catch((err: unknown) => {
      throw new ScrubbedDriverError(err, [this.params.password]);
    });
    return { user: r.rows[0]?.u ?? this.params.user };
  }

  /**
   * Utility statements take no bind parameters, so the password is sent as a literal. escapeLiteral
   * doubles quotes and, when the value has a backslash, doubles those and uses the E'' form, which is
   * correct whatever standard_conforming_strings says.
   */
  async changeOwnPassword(newPassword: string): Promise<void> {
    const lit = this.client.escapeLiteral(newPassword);
    await this.run(`ALTER ROLE CURRENT_USER WITH PASSWORD ${lit}`, [], [newPassword, lit]);
  }

  async upsertClone(source: DbAccount, target: string, newPassword: string): Promise<void> {
    const lit = this.client.escapeLiteral(newPassword);
    const secrets = [newPassword, lit];
    const tgt = this.client.escapeIdentifier(target);
    await this.run('BEGIN', []);
    try {
      const exists = await this.run('SELECT 1 FROM pg_roles WHERE rolname = $1', [target]);
      if (exists.rowCount === 0) {
        await this.run(`CREATE ROLE ${tgt} WITH LOGIN PASSWORD ${lit}`, [], secrets);
      } else {
        await this.run(`ALTER ROLE ${tgt} WITH LOGIN PASSWORD ${lit}`, [], secrets);
      }
      // Membership, not a copy: the clone inherits the source role's privileges (as the AWS template).
      // Skip when it already holds it (also covers the u_clone → u direction, where u is the source's parent).
      const member = await this.run(
        `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles t ON t.oid = m.member
          WHERE r.rolname = $1 AND t.rolname = $2`,
        [source.user, target],
      );
      const reverse = await this.run(
        `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles t ON t.oid = m.member
          WHERE r.rolname = $1 AND t.rolname = $2`,
        [target, source.user],
      );
      if (member.rowCount === 0 && reverse.rowCount === 0) {
        await this.run(`GRANT ${this.client.escapeIdentifier(source.user)} TO ${tgt}`, []);
      }
      await this.run('COMMIT', []);
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
