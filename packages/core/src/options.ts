import { type ResolvedAgentOptions, resolveAgentOptions } from './backends/agent-client.js';
import { type ResolvedFileOptions, resolveFileOptions } from './backends/file-options.js';
import { ConfigurationError } from './errors.js';
import { resolveSecretKeys } from './secret-shape.js';
import { unknownKeyHint } from './suggest.js';
import type { Clock, Logger, SecretKeys, SecretsManagerLike, VersionStage } from './types.js';

export const DEFAULTS = {
  ttlMs: 3_600_000,
  minRefreshIntervalMs: 5_000,
  awaitRotationMs: 10_000,
  maxStaleMs: 3_600_000,
  attemptTimeoutMs: 3_000,
  retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 },
  errorBackoff: { baseDelayMs: 1_000, maxDelayMs: 60_000 },
  versionStage: 'AWSCURRENT' as VersionStage,
  primaryRetryMs: 30_000,
} as const;

/** One entry of the `regions` option, checked: its name and its client or client config (if any). */
export interface ResolvedRegion {
  region: string;
  client?: SecretsManagerLike;
  clientConfig?: Record<string, unknown>;
}

export interface ResolvedOptions {
  secretId: string;
  client: SecretsManagerLike | undefined;
  clientConfig: Record<string, unknown> | undefined;
  agent: ResolvedAgentOptions | undefined;
  file: ResolvedFileOptions | undefined;
  regions: ResolvedRegion[] | undefined;
  primaryRetryMs: number;
  ttlMs: number;
  minRefreshIntervalMs: number;
  awaitRotationMs: number;
  maxStaleMs: number;
  attemptTimeoutMs: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  errorBackoff: { baseDelayMs: number; maxDelayMs: number };
  clock: Clock;
  versionStage: VersionStage;
  logger: Logger | undefined;
  secretKeys: SecretKeys | undefined;
}

const TOP_KEYS = [
  'secretId',
  'client',
  'clientConfig',
  'agent',
  'file',
  'regions',
  'primaryRetryMs',
  'ttlMs',
  'minRefreshIntervalMs',
  'awaitRotationMs',
  'maxStaleMs',
  'attemptTimeoutMs',
  'retry',
  'errorBackoff',
  'clock',
  'versionStage',
  'logger',
  'secretKeys',
];

const defaultClock: Clock = { now: () => Date.now() };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Validates options; every problem found is listed in one ConfigurationError. */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigurationError('dbcreds: options must be an object like { secretId: "..." }', { keys: [] });
  }
  const o = input as Record<string, unknown>;
  const problems: Array<[string, string]> = [];
  const bad = (key: string, why: string) => problems.push([key, why]);

  for (const key of Object.keys(o)) {
    if (!TOP_KEYS.includes(key)) bad(key, `unknown option${unknownKeyHint(key, TOP_KEYS)}`);
  }

  const file = resolveFileOptions(o.file, bad);
  const secretId = o.file === undefined ? o.secretId : file?.label;
  if (o.file !== undefined) {
    const clash = ['secretId', 'client', 'clientConfig', 'agent'].filter((k) => o[k] !== undefined);
    // The mount is the secret: Secrets Manager is the CSI driver's (or External Secrets') to read.
    if (clash.length > 0)
      bad(
        ['file', ...clash].join(', '),
        'file reads a mounted secret: give file, or secretId (with client / clientConfig / agent), not both',
      );
  } else if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > 2048) {
    bad('secretId', 'must be a non-empty string (name or ARN, ≤ 2048 chars), or give file (a mounted secret)');
  }
  if (file?.current.kind === 'dir' && o.secretKeys !== undefined)
    bad('secretKeys', 'a directory of field files names its files with file.keys, not secretKeys');
  if (o.file !== undefined && o.versionStage === 'AWSPENDING' && file !== undefined && file.pending === undefined)
    bad('versionStage', "'AWSPENDING' with file needs file.pendingFile (or pendingDir)");

  if (o.client !== undefined && (o.client === null || typeof (o.client as { send?: unknown }).send !== 'function')) {
    bad('client', 'must be a SecretsManagerClient (an object with a send() method)');
  }
  if (o.clientConfig !== undefined && !isPlainObject(o.clientConfig)) bad('clientConfig', 'must be a plain object');
  if (o.client !== undefined && o.clientConfig !== undefined) bad('clientConfig', 'give either client or clientConfig');
  const agent = resolveAgentOptions(o.agent, bad);
  if (o.agent !== undefined) {
    const clash = ['client', 'clientConfig'].filter((k) => o[k] !== undefined);
    // One message for every key of the clash: the agent reads Secrets Manager with its own credentials.
    if (clash.length > 0)
      bad(
        ['agent', ...clash].join(', '),
        'agent reads through the Secrets Manager Agent: give agent, or client / clientConfig, not both',
      );
  }

  const regions = resolveRegions(o, bad);

  const duration = (
    obj: Record<string, unknown>,
    key: string,
    path: string,
    def: number,
    opts: { min?: number; allowInfinity?: boolean } = {},
  ) => {
    const v = obj[key];
    if (v === undefined) return def;
    const min = opts.min ?? 0;
    if (typeof v !== 'number' || Number.isNaN(v) || v < min || (!Number.isFinite(v) && !opts.allowInfinity)) {
      bad(path, `must be a number ≥ ${min}${opts.allowInfinity ? ' (Infinity allowed)' : ''} (ms)`);
      return def;
    }
    return v;
  };

  const ttlMs = duration(o, 'ttlMs', 'ttlMs', DEFAULTS.ttlMs);
  const minRefreshIntervalMs = duration(
    o,
    'minRefreshIntervalMs',
    'minRefreshIntervalMs',
    DEFAULTS.minRefreshIntervalMs,
  );
  const awaitRotationMs = duration(o, 'awaitRotationMs', 'awaitRotationMs', DEFAULTS.awaitRotationMs);
  const primaryRetryMs = duration(o, 'primaryRetryMs', 'primaryRetryMs', DEFAULTS.primaryRetryMs);
  if (o.primaryRetryMs !== undefined && o.regions === undefined) bad('primaryRetryMs', 'applies only with regions');
  const maxStaleMs = duration(o, 'maxStaleMs', 'maxStaleMs', DEFAULTS.maxStaleMs, { allowInfinity: true });
  const attemptTimeoutMs = duration(o, 'attemptTimeoutMs', 'attemptTimeoutMs', DEFAULTS.attemptTimeoutMs, {
    min: 1,
    allowInfinity: true,
  });

  const sub = <K extends string>(key: string, allowed: readonly K[]): Record<string, unknown> => {
    const v = o[key];
    if (v === undefined) return {};
    if (!isPlainObject(v)) {
      bad(key, 'must be a plain object');
      return {};
    }
    for (const k of Object.keys(v)) {
      if (!(allowed as readonly string[]).includes(k))
        bad(`${key}.${k}`, `unknown option${unknownKeyHint(k, allowed)}`);
    }
    return v;
  };
  const r = sub('retry', ['maxAttempts', 'baseDelayMs', 'maxDelayMs']);
  let maxAttempts: number = DEFAULTS.retry.maxAttempts;
  if (r.maxAttempts !== undefined) {
    if (
      typeof r.maxAttempts !== 'number' ||
      !Number.isInteger(r.maxAttempts) ||
      r.maxAttempts < 1 ||
      r.maxAttempts > 20
    ) {
      bad('retry.maxAttempts', 'must be an integer in 1..20');
    } else maxAttempts = r.maxAttempts;
  }
  const retry = {
    maxAttempts,
    baseDelayMs: duration(r, 'baseDelayMs', 'retry.baseDelayMs', DEFAULTS.retry.baseDelayMs),
    maxDelayMs: duration(r, 'maxDelayMs', 'retry.maxDelayMs', DEFAULTS.retry.maxDelayMs),
  };
  const b = sub('errorBackoff', ['baseDelayMs', 'maxDelayMs']);
  const errorBackoff = {
    baseDelayMs: duration(b, 'baseDelayMs', 'errorBackoff.baseDelayMs', DEFAULTS.errorBackoff.baseDelayMs),
    maxDelayMs: duration(b, 'maxDelayMs', 'errorBackoff.maxDelayMs', DEFAULTS.errorBackoff.maxDelayMs),
  };

  let clock = defaultClock;
  if (o.clock !== undefined) {
    if (o.clock === null || typeof (o.clock as { now?: unknown }).now !== 'function')
      bad('clock', 'must be { now(): number }');
    else clock = o.clock as Clock;
  }

  let versionStage: VersionStage = DEFAULTS.versionStage;
  if (o.versionStage !== undefined) {
    if (o.versionStage !== 'AWSCURRENT' && o.versionStage !== 'AWSPENDING')
      bad('versionStage', "must be 'AWSCURRENT' or 'AWSPENDING'");
    else versionStage = o.versionStage;
  }

  let logger: Logger | undefined;
  if (o.logger !== undefined) {
    if (o.logger === null || typeof o.logger !== 'object')
      bad('logger', 'must be an object with debug/info/warn/error methods');
    else logger = o.logger as Logger;
  }

  const secretKeys = resolveSecretKeys(o.secretKeys, bad);

  if (problems.length > 0) {
    const keys = problems.flatMap(([k]) => k.split(', '));
    const detail = problems.map(([k, why]) => `${k}: ${why}`).join('; ');
    throw new ConfigurationError(`dbcreds: invalid credential source options: ${detail}`, { keys });
  }

  return {
    secretId: secretId as string,
    client: o.client as SecretsManagerLike | undefined,
    clientConfig: o.clientConfig as Record<string, unknown> | undefined,
    agent,
    file,
    regions,
    primaryRetryMs,
    ttlMs,
    minRefreshIntervalMs,
    awaitRotationMs,
    maxStaleMs,
    attemptTimeoutMs,
    retry,
    errorBackoff,
    clock,
    versionStage,
    logger,
    secretKeys,
  };
}

const REGION_RE = /^([a-z]+-)+\d+$/;
const REGION_KEYS = ['region', 'client', 'clientConfig'];

/**
 * The `regions` option: a non-empty list of region names or `{ region, client? | clientConfig? }`, each
 * region once. Not with `agent` (the agent reads one region) nor `client` (each region needs its own).
 */
function resolveRegions(
  o: Record<string, unknown>,
  bad: (key: string, why: string) => void,
): ResolvedRegion[] | undefined {
  const v = o.regions;
  if (v === undefined) return undefined;
  if (o.agent !== undefined) bad('regions, agent', 'the agent reads one region: give regions or agent, not both');
  if (o.client !== undefined)
    bad('regions, client', "give each region's client in its entry ({ region, client }), not a top-level client");
  if (!Array.isArray(v) || v.length === 0 || v.length > 20) {
    bad(
      'regions',
      'must be a non-empty array (≤ 20) of region names or { region, client?, clientConfig? }, primary first',
    );
    return undefined;
  }
  const out: ResolvedRegion[] = [];
  for (const [i, entry] of (v as unknown[]).entries()) {
    const path = `regions[${i}]`;
    if (typeof entry !== 'string' && !isPlainObject(entry)) {
      bad(path, 'must be a region name or { region, client?, clientConfig? }');
      continue;
    }
    const e: Record<string, unknown> = typeof entry === 'string' ? { region: entry } : entry;
    for (const k of Object.keys(e))
      if (!REGION_KEYS.includes(k)) bad(`${path}.${k}`, `unknown option${unknownKeyHint(k, REGION_KEYS)}`);
    const region = e.region;
    if (typeof region !== 'string' || !REGION_RE.test(region)) {
      bad(`${path}.region`, "must be a region name like 'us-east-1'");
      continue;
    }
    if (out.some((r) => r.region === region)) {
      bad(path, `region '${region}' is listed twice`);
      continue;
    }
    if (e.client !== undefined && (e.client === null || typeof (e.client as { send?: unknown }).send !== 'function'))
      bad(`${path}.client`, 'must be a SecretsManagerClient (an object with a send() method)');
    if (e.clientConfig !== undefined && !isPlainObject(e.clientConfig))
      bad(`${path}.clientConfig`, 'must be a plain object');
    if (e.client !== undefined && e.clientConfig !== undefined)
      bad(`${path}.clientConfig`, 'give either client or clientConfig');
    const cc = isPlainObject(e.clientConfig) ? e.clientConfig : undefined;
    if (cc?.region !== undefined && cc.region !== region)
      bad(`${path}.clientConfig.region`, `differs from the entry's region '${region}': leave it out`);
    out.push({
      region,
      ...(e.client === undefined ? {} : { client: e.client as SecretsManagerLike }),
      ...(cc === undefined ? {} : { clientConfig: cc }),
    });
  }
  return out;
}
