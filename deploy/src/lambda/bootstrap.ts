/**
 * CloudFormation custom resource (Lambda in the VPC): creates the app's database user with the
 * password of the app secret's AWSCURRENT version, the `notes` table and the user's grants, logged in
 * with the master secret. Runs before the first rotation, which needs the user to exist (both
 * strategies log in as the current user first: rotation-protocol §1.5 step 3, §1.6 step 3).
 * Idempotent: an existing user keeps its password (it may have been rotated since); table and
 * grants are created when missing. Delete does nothing (the cluster's removal policy decides).
 * No password or SQL text is ever logged or returned.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ScrubbedDriverError } from '@dbcreds/rotation';
import mysql from 'mysql2/promise';
import pg from 'pg';

interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceProperties: { MasterSecretArn: string; AppSecretArn: string; AppUsername: string };
}

interface DbSecret {
  engine: string;
  host: string;
  port?: number;
  username: string;
  password: string;
  dbname?: string;
}

const PG_NOTES = `CREATE TABLE IF NOT EXISTS notes (
  id serial PRIMARY KEY, author text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
const MYSQL_NOTES = `CREATE TABLE IF NOT EXISTS notes (
  id int AUTO_INCREMENT PRIMARY KEY, author varchar(64) NOT NULL, body varchar(255) NOT NULL,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)`;

const sm = new SecretsManagerClient({});

async function readSecret(arn: string): Promise<DbSecret> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
  return JSON.parse(out.SecretString ?? '{}') as DbSecret;
}

/** Creates `username` (password from `app` when it is that user's secret) with access to `notes`. */
export async function bootstrapDatabase(master: DbSecret, app: DbSecret, username: string): Promise<string> {
  const dbname = app.dbname ?? master.dbname;
  const ownPassword = app.username === username ? app.password : undefined;
  if (app.engine.includes('postgres')) {
    const client = new pg.Client({
      host: master.host,
      port: Number(master.port ?? 5432),
      user: master.username,
      password: master.password,
      database: dbname ?? 'postgres',
      // TLS from PGSSLMODE (the stack sets no-verify), as the rotation function.
      connectionTimeoutMillis: 10_000,
    });
    await client.connect();
    try {
      const id = client.escapeIdentifier(username);
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).rowCount;
      if (!exists) {
        if (ownPassword === undefined)
          throw new Error(`user ${username} is missing and the app secret is for another user`);
        await client.query(`CREATE ROLE ${id} LOGIN PASSWORD ${client.escapeLiteral(ownPassword)}`);
      }
      await client.query(PG_NOTES);
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO ${id}`);
      await client.query(`GRANT USAGE, SELECT ON SEQUENCE notes_id_seq TO ${id}`);
      return exists ? 'exists' : 'created';
    } finally {
      await client.end();
    }
  }
  const conn = await mysql.createConnection({
    host: master.host,
    port: Number(master.port ?? 3306),
    user: master.username,
    password: master.password,
    database: dbname,
    // Encrypted unless DB_SSL=false (Aurora MySQL accepts TLS; the certificate is not verified).
    ssl: process.env.DB_SSL === 'false' ? undefined : { rejectUnauthorized: false },
    connectTimeout: 10_000,
  });
  try {
    const [rows] = await conn.query("SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'", [username]);
    const exists = (rows as unknown[]).length > 0;
    if (!exists) {
      if (ownPassword === undefined)
        throw new Error(`user ${username} is missing and the app secret is for another user`);
      await conn.query("CREATE USER ?@'%' IDENTIFIED BY ?", [username, ownPassword]);
    }
    await conn.query(MYSQL_NOTES);
    await conn.query("GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO ?@'%'", [username]);
    return exists ? 'exists' : 'created';
  } finally {
    await conn.end();
  }
}

async function respond(event: CustomResourceEvent, status: 'SUCCESS' | 'FAILED', reason: string): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: reason,
    PhysicalResourceId: event.PhysicalResourceId ?? `dbcreds-bootstrap-${event.ResourceProperties.AppUsername}`,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const res = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!res.ok) throw new Error(`CloudFormation response upload failed: HTTP ${res.status}`);
}

export async function handler(event: CustomResourceEvent): Promise<void> {
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = 'nothing to do';
  const secrets: string[] = [];
  try {
    if (event.RequestType !== 'Delete') {
      const { MasterSecretArn, AppSecretArn, AppUsername } = event.ResourceProperties;
      const [master, app] = await Promise.all([readSecret(MasterSecretArn), readSecret(AppSecretArn)]);
      secrets.push(master.password, app.password);
      reason = `user ${AppUsername}: ${await bootstrapDatabase(master, app, AppUsername)}`;
    }
  } catch (err) {
    status = 'FAILED';
    // The password may appear in a driver message (mysql2 interpolates parameters): scrub it.
    const scrubbed = new ScrubbedDriverError(err, secrets);
    reason = `${scrubbed.code ?? scrubbed.name}: ${scrubbed.message}`.slice(0, 500);
  }
  console.log(JSON.stringify({ level: status === 'SUCCESS' ? 'info' : 'error', message: reason }));
  await respond(event, status, reason);
}
