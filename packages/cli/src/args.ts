import { parseArgs } from 'node:util';
import { DbCredsError } from '@dbcreds/core';
import { LIBRARY_NAMES, libraryByName } from './libraries/catalog.js';

/** Bad command line: the CLI prints the message and a hint, then exits with status 2. */
export class UsageError extends DbCredsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, code: 'DBCREDS_USAGE' });
  }
}

/** The `--orm` choices: the libraries of the catalog (src/libraries). */
export const ORMS: readonly string[] = LIBRARY_NAMES;
/** A library of the catalog, e.g. `knex`. */
export type OrmName = string;
export const ENGINES = ['auto', 'postgres', 'mysql'] as const;
/** `auto`: the embedded PostgreSQL, then MariaDB/MySQL too when its server is reachable. */
export type EngineChoice = (typeof ENGINES)[number];
/** An engine the demo runs on. */
export type EngineName = Exclude<EngineChoice, 'auto'>;
export const STRATEGIES = ['single-user', 'alternating-users', 'both'] as const;
export type StrategyChoice = (typeof STRATEGIES)[number];

export interface DemoArgs {
  /** `auto` only with libraries that support both engines (`pg` implies postgres, `mysql2` mysql). */
  engine: EngineChoice;
  orm: OrmName;
  strategy: StrategyChoice;
  /** Rotations per strategy (`both` runs this many single-user, then this many alternating-users). */
  rotations: number;
  /** Minimum load time per engine in ms; the demo also waits for every rotation plus a short tail. */
  durationMs: number;
  /** Seconds between scheduled rotations (`rate(N seconds)`). */
  intervalSeconds: number;
  workers: number;
  /** Force the plain line output even on a TTY. */
  plain: boolean;
}

export interface RotateArgs {
  secretId: string;
  endpoint: string | undefined;
  region: string | undefined;
  /** Maximum wait for the rotation to finish, in ms. */
  timeoutMs: number;
}

export const MAIN_HELP = `dbcreds: survive AWS Secrets Manager credential rotation (demo and tools)

Usage: dbcreds <command> [options]

Commands:
  demo       run an app under load through real rotations (embedded PostgreSQL, local Secrets Manager)
  local-sm   run the local Secrets Manager (AWS JSON 1.1 API on localhost)
  rotate     call RotateSecret on a secret and wait for the outcome
  exec       run a command (migrator, psql, mysql) with the secret's connection in its environment
  url        print the database URL built from the secret (--print: it contains the password)

Run 'dbcreds <command> --help' for the options of a command.
Exit codes: 0 success, 1 failure (failed queries, failed rotation), 2 bad command line, 130 interrupted.`;

export const DEMO_HELP = `Usage: dbcreds demo [options]

Starts a private PostgreSQL (scram-sha-256, temporary directory) and/or uses MariaDB, the local
Secrets Manager, an application user and its secret; runs concurrent reads/writes through the chosen
library while Secrets Manager rotates the password on a short schedule.

Options:
  --orm <name>        ${ORMS.join(' | ')}
                      (default knex)
  --engine <name>     auto | postgres | mysql (MariaDB/MySQL server, see below)
                      (default auto: PostgreSQL, then MariaDB too when reachable; postgres for --orm pg and postgres-js,
                      mysql for --orm mysql2)
  --strategy <name>   single-user | alternating-users | both             (default both)
  --rotations <n>     rotations per strategy, 1-20 (both: n single-user, then n alternating-users) (default 4)
  --duration <s>      minimum load time per engine in seconds            (default 20)
  --interval <s>      seconds between scheduled rotations, 1-60          (default: duration / (total rotations + 1), at least 2)
  --workers <n>       concurrent workers, 1-64                           (default 8)
  --plain             plain log lines even on a terminal
  -h, --help          show this help

MariaDB/MySQL is DBCREDS_MYSQL_HOST:DBCREDS_MYSQL_PORT, administered as DBCREDS_MYSQL_USER with
DBCREDS_MYSQL_PASSWORD (defaults 127.0.0.1:3306, root, empty); what the demo creates there is dropped
on exit. auto probes it (1 s) and skips it when not reachable; --engine mysql requires it. Engines run
one after the other; the summary has a column per engine.
Exit codes: 0 no query failed and every rotation happened on every engine run, 1 otherwise,
2 bad options, 130 interrupted.`;

export const ROTATE_HELP = `Usage: dbcreds rotate --secret-id <id> [--endpoint <url>] [--region <region>] [--timeout <s>]

Calls RotateSecret (with the secret's configured rotation function) and waits until the new version
is AWSCURRENT or the rotation failed.

Options:
  --secret-id <id>    secret name or ARN (required)
  --endpoint <url>    Secrets Manager endpoint (default: AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL / AWS)
  --region <region>   AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1)
  --timeout <s>       how long to wait for the rotation, in seconds (default 60)
  -h, --help          show this help
Exit codes: 0 rotated, 1 rotation failed or timed out, 2 bad options.`;

type Flags = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

export function parse(argv: string[], options: Flags): Parsed {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    return parsed as Parsed;
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, '.'), { cause: err });
  }
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  }
  return value as T;
}

function int(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got '${value}')`);
  }
  return Number(value);
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
}

/** Parses `dbcreds demo` options; `'help'` when --help was given. Throws {@link UsageError}. */
export function parseDemoArgs(argv: string[]): DemoArgs | 'help' {
  const { values, positionals } = parse(argv, {
    orm: { type: 'string' },
    engine: { type: 'string' },
    strategy: { type: 'string' },
    rotations: { type: 'string' },
    duration: { type: 'string' },
    interval: { type: 'string' },
    workers: { type: 'string' },
    plain: { type: 'boolean' },
  });
  if (values.help) return 'help';
  noPositionals(positionals);
  const orm = choice('orm', values.orm as string | undefined, ORMS) ?? 'knex';
  // A library on one engine only (pg, mysql2) implies it.
  const { engines } = libraryByName(orm);
  const implied: EngineName | undefined = engines.length === 1 ? engines[0] : undefined;
  const asked = choice('engine', values.engine as string | undefined, ENGINES) ?? 'auto';
  if (implied && asked !== 'auto' && asked !== implied) {
    throw new UsageError(`--orm ${orm} works with --engine ${implied} only`);
  }
  const engine = asked === 'auto' ? (implied ?? 'auto') : asked;
  const strategy = choice('strategy', values.strategy as string | undefined, STRATEGIES) ?? 'both';
  const rotations = int('rotations', values.rotations as string | undefined, 1, 20) ?? 4;
  const total = strategy === 'both' ? 2 * rotations : rotations;
  const durationSeconds = int('duration', values.duration as string | undefined, 1, 3600) ?? 20;
  const intervalSeconds =
    int('interval', values.interval as string | undefined, 1, 60) ??
    Math.max(2, Math.floor(durationSeconds / (total + 1)));
  const workers = int('workers', values.workers as string | undefined, 1, 64) ?? 8;
  return {
    engine,
    orm,
    strategy,
    rotations,
    durationMs: durationSeconds * 1000,
    intervalSeconds,
    workers,
    plain: values.plain === true,
  };
}

/** Parses `dbcreds rotate` options; `'help'` when --help was given. Throws {@link UsageError}. */
export function parseRotateArgs(argv: string[]): RotateArgs | 'help' {
  const { values, positionals } = parse(argv, {
    'secret-id': { type: 'string' },
    endpoint: { type: 'string' },
    region: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (values.help) return 'help';
  noPositionals(positionals);
  const secretId = values['secret-id'] as string | undefined;
  if (!secretId) throw new UsageError('--secret-id is required');
  const endpoint = values.endpoint as string | undefined;
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new UsageError(`--endpoint must be a URL such as http://127.0.0.1:4566 (got '${endpoint}')`);
  }
  const timeoutSeconds = int('timeout', values.timeout as string | undefined, 1, 3600) ?? 60;
  return { secretId, endpoint, region: values.region as string | undefined, timeoutMs: timeoutSeconds * 1000 };
}
