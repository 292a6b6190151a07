import { parseArgs } from 'node:util';
import type { LocalAgentOptions } from './agent.js';
import { startLocalSecretsManager } from './server.js';
import type { LocalSecretsManager, LocalSecretsManagerOptions } from './types.js';

export const CLI_USAGE = `Usage: dbcreds-local-sm [--port <n>] [--host <addr>] [--state-file <file>] [options]

Local AWS Secrets Manager (JSON 1.1 protocol) for development and CI.
DEVELOPMENT ONLY: request signatures are not verified.

Options:
  --port <n>                          TCP port (default 0: a free port, printed on start)
  --host <addr>                       interface to listen on (default 127.0.0.1, loopback only)
  --state-file <file>                 keep secrets in this JSON file across restarts (default: memory only)
  --region <region>                   region used in ARNs (default us-east-1)
  --account-id <12 digits>            account used in ARNs (default 000000000000)
  --regions <r1,r2>                   more regions at the same endpoint, routed by the SigV4 region (replication)
  --replication-lag <ms>              delay before a primary's change reaches its replicas (default 0)
  --rotation-mode <sync|async>        RotateSecret waits for the steps (sync, default) or not
  --allow-short-rotation-intervals    accept rate(10 seconds), rate(1 minutes)... (demos only)
  --agent-port <n>                    also serve a Secrets Manager Agent-compatible endpoint on this port
                                      (the agent's default is 2773; 0 = a free port)
  --agent-token <token>               its SSRF token (X-Aws-Parameters-Secrets-Token; default: random, printed)
  --agent-ttl <seconds>               its cache TTL (default 300, like the agent's ttl_seconds)
  --help                              print this help

Prints the endpoint URL (e.g. http://127.0.0.1:4566) on one line when ready; stops on SIGINT/SIGTERM.
RotateSecret needs a rotator for the secret's RotationLambdaARN; this command registers none. Run
\`dbcreds local-sm\` (same flags) to get the @dbcreds/rotation functions registered under printed ARNs.`;

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Resolves when the process should stop. Default: the first SIGINT or SIGTERM. */
  waitForStop?: () => Promise<void>;
}

const defaultIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

/** What an `onStarted` hook hands back. */
export interface CliStarted {
  /** Printed on stdout after the endpoint line (which always comes first). */
  lines?: readonly string[];
  /** Called before the server stops (e.g. to destroy SDK clients the hook created). */
  close?: () => void | Promise<void>;
}

/** Extension points for wrappers such as `dbcreds local-sm`. All optional. */
export interface CliHooks {
  /** Command name in messages. Default `dbcreds-local-sm`. */
  name?: string;
  /** Replaces the `--help` text. Default {@link CLI_USAGE}. */
  usage?: string;
  /**
   * Runs once the server listens, before the endpoint is printed: register rotators here
   * (`sm.registerRotator`), so a client that read the endpoint can rotate at once. A throw stops the
   * server and the command exits 1.
   */
  onStarted?: (sm: LocalSecretsManager) => CliStarted | undefined | Promise<CliStarted | undefined>;
}

class UsageError extends Error {}

const FLAGS = {
  help: { type: 'boolean', short: 'h' },
  port: { type: 'string' },
  host: { type: 'string' },
  'state-file': { type: 'string' },
  region: { type: 'string' },
  'account-id': { type: 'string' },
  regions: { type: 'string' },
  'replication-lag': { type: 'string' },
  'rotation-mode': { type: 'string' },
  'allow-short-rotation-intervals': { type: 'boolean' },
  'agent-port': { type: 'string' },
  'agent-token': { type: 'string' },
  'agent-ttl': { type: 'string' },
} as const;

/** Parses `argv` (without node and script) with `node:util` parseArgs (strict). Exported for tests. */
export function parseCliArgs(argv: readonly string[]): LocalSecretsManagerOptions | 'help' {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!); // unknown flag, missing value, positional
  }
  if (values.help) return 'help';
  const opts: LocalSecretsManagerOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) {
      throw new UsageError(`--port must be 0-65535, got "${values.port}"`);
    }
    opts.port = port;
  }
  if (values.host !== undefined) opts.host = values.host;
  if (values['state-file'] !== undefined) opts.stateFile = values['state-file'];
  if (values.region !== undefined) opts.region = values.region;
  const accountId = values['account-id'];
  if (accountId !== undefined) {
    if (!/^\d{12}$/.test(accountId)) throw new UsageError(`--account-id must be 12 digits, got "${accountId}"`);
    opts.accountId = accountId;
  }
  if (values.regions !== undefined) {
    const regions = values.regions.split(',').map((r) => r.trim());
    if (!regions.every((r) => /^([a-z]+-)+\d+$/.test(r)))
      throw new UsageError(`--regions must be region names separated by commas, got "${values.regions}"`);
    if (opts.stateFile !== undefined) throw new UsageError('--state-file keeps one region: not with --regions');
    opts.regions = regions;
  }
  const lag = values['replication-lag'];
  if (lag !== undefined) {
    if (!/^\d+$/.test(lag)) throw new UsageError(`--replication-lag must be milliseconds (an integer), got "${lag}"`);
    opts.replicationLagMs = Number(lag);
  }
  const mode = values['rotation-mode'];
  if (mode !== undefined) {
    if (mode !== 'sync' && mode !== 'async')
      throw new UsageError(`--rotation-mode must be sync or async, got "${mode}"`);
    opts.rotationMode = mode;
  }
  if (values['allow-short-rotation-intervals']) opts.allowShortRotationIntervals = true;
  const agent = agentOptions(values['agent-port'], values['agent-token'], values['agent-ttl']);
  if (agent !== undefined) opts.agent = agent;
  return opts;
}

function agentOptions(port?: string, token?: string, ttl?: string): LocalAgentOptions | undefined {
  if (port === undefined) {
    if (token !== undefined || ttl !== undefined)
      throw new UsageError('--agent-token and --agent-ttl need --agent-port');
    return undefined;
  }
  if (!/^\d+$/.test(port) || Number(port) > 65_535) throw new UsageError(`--agent-port must be 0-65535, got "${port}"`);
  const agent: LocalAgentOptions = { port: Number(port) };
  if (token !== undefined) agent.token = token;
  if (ttl !== undefined) {
    if (!/^\d+$/.test(ttl) || Number(ttl) > 3600)
      throw new UsageError(`--agent-ttl must be 0-3600 seconds, got "${ttl}"`);
    agent.ttlMs = Number(ttl) * 1000;
  }
  return agent;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * The `dbcreds-local-sm` command (also `dbcreds local-sm`). Resolves with the exit code:
 * 0 after a clean stop or `--help`, 2 for bad arguments, 1 when the server cannot start.
 */
export async function runLocalSecretsManagerCli(
  argv: readonly string[],
  io: CliIo = defaultIo,
  hooks: CliHooks = {},
): Promise<number> {
  const name = hooks.name ?? 'dbcreds-local-sm';
  let parsed: LocalSecretsManagerOptions | 'help';
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${name}: ${err.message}`);
    io.stderr('Run with --help for usage.');
    return 2;
  }
  if (parsed === 'help') {
    io.stdout(hooks.usage ?? CLI_USAGE);
    return 0;
  }
  const stopped = (io.waitForStop ?? waitForSignal)();
  let sm: LocalSecretsManager;
  try {
    sm = await startLocalSecretsManager(parsed);
  } catch (err) {
    io.stderr(`${name}: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  let started: CliStarted | undefined;
  try {
    started = await hooks.onStarted?.(sm);
  } catch (err) {
    io.stderr(`${name}: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    await sm.close();
    return 1;
  }
  if (!isLoopback(sm.host)) {
    io.stderr(`${name}: WARNING listening on ${sm.host}; signatures are not verified (development only).`);
  }
  io.stdout(sm.endpoint);
  if (sm.agent) io.stdout(`agent: ${sm.agent.endpoint} (X-Aws-Parameters-Secrets-Token: ${sm.agent.token})`);
  for (const line of started?.lines ?? []) io.stdout(line);
  if (!hooks.onStarted) {
    io.stderr(`${name}: no rotation functions registered; run \`dbcreds local-sm\` for the @dbcreds/rotation ones.`);
  }
  await stopped;
  try {
    await started?.close?.();
  } finally {
    await sm.close();
  }
  return 0;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
