import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CredentialSourceOptions, createCredentialSource, type DbCredentials } from '@dbcreds/core';
import { parse, UsageError } from './args.js';
import {
  type Connection,
  connectionEnv,
  connectionUrl,
  type EngineFamily,
  type Endpoint,
  pgpassLine,
  resolveConnection,
} from './url.js';
import type { Output } from './view.js';

/** What `dbcreds exec` hands the command. `all` (default): the URL and the engine's variables. */
export const FORMATS = ['all', 'url', 'env', 'pgpass'] as const;
export type ExecFormat = (typeof FORMATS)[number];

/** Where the secret is read and how the connection is described; shared by `exec` and `url`. */
export interface SecretArgs {
  secretId: string;
  /** Read through the Secrets Manager Agent (`true`: its default endpoint). */
  agent: true | { endpoint: string } | undefined;
  endpoint: string | undefined;
  region: string | undefined;
  endpointOverrides: Endpoint;
  params: Array<[string, string]>;
}

export interface ExecArgs extends SecretArgs {
  format: ExecFormat;
  urlVar: string;
  retryOnAuth: boolean;
  command: string;
  args: string[];
}

export interface UrlArgs extends SecretArgs {
  print: boolean;
}

const SECRET_HELP = `Secret and connection:
  --secret-id <id>       secret name or ARN (default: DBCREDS_SECRET_ID)
  --agent                read through the Secrets Manager Agent / Lambda extension on localhost
                         (token: AWS_TOKEN / AWS_SESSION_TOKEN / /var/run/awssmatoken, as the library)
  --agent-endpoint <url> the agent's base URL (implies --agent; default http://localhost:2773)
  --endpoint <url>       Secrets Manager endpoint (default: AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL / AWS)
  --region <region>      AWS region (default: the SDK's chain, AWS_REGION; us-east-1 for a loopback endpoint)
  --engine <name>        postgres | mysql, for secrets without an 'engine' field
  --host <host>          host, for secrets without one (overrides the secret's; there is no default host)
  --port <port>          port (default: the secret's, else 5432 / 3306)
  --database <name>      database (default: the secret's 'dbname')
  --param <k=v>          query parameter appended to the URL, repeatable (e.g. --param sslmode=require)`;

export const EXEC_HELP = `Usage: dbcreds exec [options] -- <command> [args...]

Reads the database secret once and runs <command> with the connection in its environment only:
nothing of the password on a command line, in the process list or in dbcreds' output.

What the command gets (--format):
  all (default)  DATABASE_URL and the engine's variables
  url            DATABASE_URL only: postgresql://… or mysql://…, every component percent-encoded
  env            PostgreSQL: PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (+ PGSSLMODE etc. from --param)
                 MySQL/MariaDB: MYSQL_HOST MYSQL_TCP_PORT MYSQL_PWD (read by the mysql/mariadb
                 clients) and MYSQL_USER MYSQL_DATABASE (for scripts: mysql -u "$MYSQL_USER" "$MYSQL_DATABASE")
  pgpass         PostgreSQL only: a 0600 pgpass file in a private temporary directory as PGPASSFILE,
                 removed when the command ends; PG* variables and DATABASE_URL without the password

Options:
  --format <f>           all | url | env | pgpass (default all)
  --url-var <name>       name of the URL variable (default DATABASE_URL)
  --retry-on-auth        when the command fails and its stderr shows an authentication failure
                         (28P01, "password authentication failed", 1045 "Access denied"), re-read the
                         secret (AWSPENDING during a rotation) and run the command once more. Only for
                         idempotent commands, such as migrators; stderr then passes through a pipe.
${SECRET_HELP}
  -h, --help             show this help

stdin/stdout/stderr are the command's; SIGINT, SIGTERM and SIGHUP are forwarded to it.
Exit codes: the command's (128+N when killed by signal N), 2 bad command line, 125 the secret could
not be read, 126 the command cannot be run, 127 command not found.`;

export const URL_HELP = `Usage: dbcreds url --print [options]

Prints the database URL built from the secret (the same URL 'dbcreds exec' exports) to stdout.
It contains the password: it is printed only with --print, with a warning on stderr. To hand it to a
command, prefer 'dbcreds exec -- <command>', which prints nothing.

Options:
  --print                print the URL (required)
${SECRET_HELP}
  -h, --help             show this help
Exit codes: 0 printed, 2 bad command line or --print missing, 125 the secret could not be read.`;

const SECRET_FLAGS = {
  'secret-id': { type: 'string' },
  agent: { type: 'boolean' },
  'agent-endpoint': { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  engine: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  database: { type: 'string' },
  param: { type: 'string', multiple: true },
} as const;

function secretArgs(values: Record<string, unknown>, env: NodeJS.ProcessEnv): SecretArgs {
  const str = (k: string) => values[k] as string | undefined;
  const secretId = str('secret-id') ?? env.DBCREDS_SECRET_ID;
  if (!secretId) throw new UsageError('--secret-id is required (or set DBCREDS_SECRET_ID)');
  const agentEndpoint = str('agent-endpoint');
  const agent = agentEndpoint !== undefined ? { endpoint: agentEndpoint } : values.agent === true ? true : undefined;
  for (const [flag, url] of [
    ['endpoint', str('endpoint')],
    ['agent-endpoint', agentEndpoint],
  ] as const) {
    if (url !== undefined && !URL.canParse(url)) {
      throw new UsageError(`--${flag} must be a URL such as http://127.0.0.1:4566 (got '${url}')`);
    }
  }
  if (agent && (str('endpoint') !== undefined || str('region') !== undefined)) {
    throw new UsageError(
      '--agent reads through the Secrets Manager Agent: give --agent, or --endpoint / --region, not both',
    );
  }
  const engine = str('engine');
  if (engine !== undefined && engine !== 'postgres' && engine !== 'mysql') {
    throw new UsageError(`--engine must be one of postgres, mysql (got '${engine}')`);
  }
  const port = str('port');
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(`--port must be an integer from 1 to 65535 (got '${port}')`);
  }
  const params = ((values.param as string[] | undefined) ?? []).map((p): [string, string] => {
    const i = p.indexOf('=');
    if (i < 1) throw new UsageError(`--param must be key=value (got '${p}')`);
    return [p.slice(0, i), p.slice(i + 1)];
  });
  const host = str('host');
  if (host === '') throw new UsageError('--host must not be empty');
  return {
    secretId,
    agent,
    endpoint: str('endpoint'),
    region: str('region'),
    endpointOverrides: {
      ...(host !== undefined ? { host } : {}),
      ...(port !== undefined ? { port: Number(port) } : {}),
      ...(str('database') !== undefined ? { database: str('database') } : {}),
      ...(engine !== undefined ? { engine: engine as EngineFamily } : {}),
    },
    params,
  };
}

/** Parses `dbcreds exec` options; `'help'` when --help was given. Throws {@link UsageError}. */
export function parseExecArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ExecArgs | 'help' {
  const dash = argv.indexOf('--');
  const { values, positionals } = parse(dash === -1 ? argv : argv.slice(0, dash), {
    ...SECRET_FLAGS,
    format: { type: 'string' },
    'url-var': { type: 'string' },
    'retry-on-auth': { type: 'boolean' },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${positionals[0]}': put the command after '--' (dbcreds exec [options] -- <command>)`,
    );
  }
  if (dash === -1) throw new UsageError("missing '--' before the command (dbcreds exec [options] -- <command>)");
  const [command, ...args] = argv.slice(dash + 1);
  if (!command) throw new UsageError("missing command after '--'");
  const format = (values.format as string | undefined) ?? 'all';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')} (got '${format}')`);
  }
  const urlVar = (values['url-var'] as string | undefined) ?? 'DATABASE_URL';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(urlVar)) {
    throw new UsageError(`--url-var must be an environment variable name (got '${urlVar}')`);
  }
  const secret = secretArgs(values, env);
  if (format === 'pgpass' && secret.endpointOverrides.engine === 'mysql') {
    throw new UsageError('--format pgpass is for PostgreSQL only');
  }
  return {
    ...secret,
    format: format as ExecFormat,
    urlVar,
    retryOnAuth: values['retry-on-auth'] === true,
    command,
    args,
  };
}

/** Parses `dbcreds url` options; `'help'` when --help was given. Throws {@link UsageError}, also without --print. */
export function parseUrlArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): UrlArgs | 'help' {
  const { values, positionals } = parse(argv, { ...SECRET_FLAGS, print: { type: 'boolean' } });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const secret = secretArgs(values, env);
  if (values.print !== true) {
    throw new UsageError(
      "the URL contains the password: add --print to print it anyway, or run 'dbcreds exec -- <command>' to hand it to a command without printing it",
    );
  }
  return { ...secret, print: true };
}

function sourceOptions(a: SecretArgs, env: NodeJS.ProcessEnv): CredentialSourceOptions {
  if (a.agent) return { secretId: a.secretId, agent: a.agent };
  const endpoint = a.endpoint ?? env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  // A loopback endpoint is the local Secrets Manager: it checks no signature, so no AWS credentials are needed.
  const local = endpoint !== undefined && /^https?:\/\/(127\.|localhost|\[::1\])/.test(endpoint);
  const region = a.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (local ? 'us-east-1' : undefined);
  const anonymous = local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE;
  return {
    secretId: a.secretId,
    clientConfig: {
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(anonymous ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    },
  };
}

export interface ExecIo {
  stdout: Output;
  stderr: Output;
  env?: NodeJS.ProcessEnv;
}

const EXIT_SECRET = 125;

/** The secret error's message (core errors never carry secret values), as `dbcreds <cmd>: …`. */
function secretFailure(io: ExecIo, cmd: string, err: unknown): number {
  if (err instanceof UsageError) throw err;
  const e = err as { name?: string; message?: string };
  io.stderr.write(`dbcreds ${cmd}: cannot read the secret: ${e.name ?? 'Error'}: ${e.message ?? String(err)}\n`);
  return EXIT_SECRET;
}

/** `dbcreds url --print`: the URL on stdout, a warning on stderr. */
export async function runUrl(a: UrlArgs, io: ExecIo): Promise<number> {
  const env = io.env ?? process.env;
  const source = createCredentialSource(sourceOptions(a, env));
  try {
    const conn = resolveConnection(await source.get(), a.endpointOverrides, a.params);
    io.stderr.write('dbcreds url: warning: the URL below contains the database password; do not log or share it\n');
    io.stdout.write(`${connectionUrl(conn)}\n`);
    return 0;
  } catch (err) {
    return secretFailure(io, 'url', err);
  } finally {
    source.close();
  }
}

// Auth failures as the tools print them: PostgreSQL (libpq, pg, postgres.js), MySQL/MariaDB clients
// and drivers, Prisma. A message match is all a child's stderr offers; the re-run is bounded to one.
const AUTH_FAILURE =
  /28P01|password authentication failed|Access denied for user|ER_ACCESS_DENIED_ERROR|\b1045\b|P1000|Authentication failed against database server/;

interface ChildResult {
  code: number;
  authFailure: boolean;
  signalled: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

async function commandEnv(
  a: ExecArgs,
  conn: Connection,
  base: NodeJS.ProcessEnv,
): Promise<{ env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...base };
  const pgpass = a.format === 'pgpass';
  if (a.format !== 'env') env[a.urlVar] = connectionUrl(conn, { withPassword: !pgpass });
  if (a.format !== 'url') Object.assign(env, connectionEnv(conn, { withPassword: !pgpass }));
  if (!pgpass) return { env, cleanup: async () => {} };
  if (conn.family !== 'postgres') throw new UsageError('--format pgpass is for PostgreSQL only');
  const line = pgpassLine(conn);
  // mkdtemp makes a 0700 directory: nobody else can open the file between its creation and chmod.
  const dir = await mkdtemp(join(tmpdir(), 'dbcreds-'));
  const file = join(dir, 'pgpass');
  await writeFile(file, line, { mode: 0o600 });
  env.PGPASSFILE = file;
  return { env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function runChild(
  a: ExecArgs,
  env: NodeJS.ProcessEnv,
  io: ExecIo,
  stop: { signal?: NodeJS.Signals },
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(a.command, a.args, { env, stdio: ['inherit', 'inherit', a.retryOnAuth ? 'pipe' : 'inherit'] });
    let authFailure = false;
    let tail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      const text = tail + chunk.toString('utf8');
      if (AUTH_FAILURE.test(text)) authFailure = true;
      tail = text.slice(-256); // a message split across two chunks is still seen
    });
    const forward = (signal: NodeJS.Signals) => {
      stop.signal = signal;
      child.kill(signal);
    };
    for (const s of SIGNALS) process.on(s, forward);
    const done = (code: number) => {
      for (const s of SIGNALS) process.off(s, forward);
      resolve({ code, authFailure, signalled: stop.signal !== undefined });
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      const missing = err.code === 'ENOENT';
      io.stderr.write(
        `dbcreds exec: ${missing ? 'command not found' : `cannot run the command (${err.code})`}: ${a.command}\n`,
      );
      done(missing ? 127 : 126);
    });
    child.once('close', (code, signal) => {
      done(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}

/**
 * `dbcreds exec`: reads the secret once, runs the command with the connection in its environment,
 * resolves with its exit status. With `retryOnAuth`, an auth failure re-reads the secret (compare-and-
 * refresh with the rejected version: AWSPENDING while AWSCURRENT is still it) and runs the command once more.
 */
export async function runExec(a: ExecArgs, io: ExecIo): Promise<number> {
  const base = io.env ?? process.env;
  const source = createCredentialSource(sourceOptions(a, base));
  const stop: { signal?: NodeJS.Signals } = {};
  // Until the child runs, a signal ends dbcreds with the conventional status.
  const early = (signal: NodeJS.Signals) => {
    stop.signal = signal;
  };
  for (const s of SIGNALS) process.on(s, early);
  try {
    let creds: DbCredentials;
    try {
      creds = await source.get();
    } catch (err) {
      return secretFailure(io, 'exec', err);
    }
    for (let attempt = 1; ; attempt++) {
      if (stop.signal) return 128 + (constants.signals[stop.signal] ?? 0);
      const conn = resolveConnection(creds, a.endpointOverrides, a.params);
      const { env, cleanup } = await commandEnv(a, conn, base);
      let result: ChildResult;
      try {
        result = await runChild(a, env, io, stop);
      } finally {
        await cleanup();
      }
      if (!a.retryOnAuth || attempt > 1 || result.code === 0 || !result.authFailure || result.signalled) {
        return result.code;
      }
      let next: DbCredentials;
      try {
        next = await source.refresh(creds);
      } catch (err) {
        secretFailure(io, 'exec', err);
        return result.code;
      }
      if (next.versionId === creds.versionId) {
        io.stderr.write(
          `dbcreds exec: authentication failed and the secret has no newer version than ${creds.versionId}; not running the command again\n`,
        );
        return result.code;
      }
      io.stderr.write(
        `dbcreds exec: authentication failed with secret version ${creds.versionId}; running the command once more with version ${next.versionId} (${next.stage})\n`,
      );
      creds = next;
    }
  } finally {
    for (const s of SIGNALS) process.off(s, early);
    source.close();
  }
}
