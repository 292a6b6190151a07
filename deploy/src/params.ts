import { parseRotationRules, type Schedule } from '@dbcreds/local-secrets-manager';

/** Aurora engines the stack deploys (the secret's `engine` field takes the same value). */
export const ENGINES = ['aurora-postgresql', 'aurora-mysql'] as const;
export type Engine = (typeof ENGINES)[number];
/** Rotation strategies (rotation-protocol §1.5 / §1.6). */
export const STRATEGIES = ['single-user', 'alternating-users'] as const;
export type Strategy = (typeof STRATEGIES)[number];
/** `hosted`: AWS hosted rotation (SAM transform); `dbcreds`: the @dbcreds/rotation handler as our own Lambda. */
export const ROTATIONS = ['hosted', 'dbcreds'] as const;
export type RotationImpl = (typeof ROTATIONS)[number];
/** Example services the container image can hold (examples/<name>). */
export const EXAMPLES = ['knex', 'typeorm'] as const;
export type Example = (typeof EXAMPLES)[number];
/** Who owns the key that encrypts the secrets: the `aws/secretsmanager` key, or a customer managed key. */
export const SECRET_KEYS = ['aws-managed', 'customer'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Validated parameters of {@link DbcredsServiceStack}. */
export interface DeployParams {
  engine: Engine;
  strategy: Strategy;
  rotation: RotationImpl;
  /** `rate(N hours|days)` or `cron(0 H DOM MON DOW *)`, UTC. */
  schedule: string;
  /** Rotation window in whole hours (RotationRules.Duration `"<n>h"`). */
  windowHours: number;
  /** The parsed schedule (interval and window in ms), for docs and tests. */
  parsedSchedule: Schedule;
  example: Example;
  /** Container image URI; `undefined` = build deploy/Dockerfile from this repository at deploy time. */
  image: string | undefined;
  secretKey: SecretKey;
  /** ACM certificate ARN: HTTPS on 443 when set, else HTTP on 80. */
  certificateArn: string | undefined;
  deletionProtection: boolean;
  region: string;
  /** Availability zones, pinned (no context lookup). */
  azs: string[];
  desiredCount: number;
  /** The app's database user (alternating users adds `<name>_clone`). */
  appUsername: string;
  /** Database the app uses (created with the cluster). */
  dbName: string;
}

/** The names accepted as CDK context (`-c name=value`) and by {@link resolveParams}. */
export const PARAM_NAMES = [
  'engine',
  'strategy',
  'rotation',
  'schedule',
  'window',
  'example',
  'image',
  'secretKey',
  'certificateArn',
  'deletionProtection',
  'region',
  'azs',
  'desiredCount',
  'appUsername',
  'dbName',
] as const;
export type RawParams = Partial<Record<(typeof PARAM_NAMES)[number], unknown>>;

export const DEFAULTS = {
  engine: 'aurora-postgresql',
  strategy: 'single-user',
  rotation: 'dbcreds',
  schedule: 'cron(0 3 ? * SUN *)',
  window: '2h',
  example: 'knex',
  secretKey: 'aws-managed',
  deletionProtection: 'true',
  region: 'us-east-1',
  desiredCount: '2',
  appUsername: 'app',
  dbName: 'app',
} as const;

/** A deploy parameter is invalid; the message names it and the accepted values. */
export class DeployParameterError extends Error {
  readonly parameter: string;

  constructor(parameter: string, value: unknown, why: string, options?: { cause?: unknown }) {
    super(`Invalid deploy parameter "${parameter}" (-c ${parameter}=${String(value)}): ${why}`, options);
    this.name = 'DeployParameterError';
    this.parameter = parameter;
  }
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new DeployParameterError(name, value, `expected one of ${allowed.join(', ')}`);
}

function text(name: string, value: unknown, pattern: RegExp, why: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new DeployParameterError(name, value, why);
  return value;
}

function bool(name: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new DeployParameterError(name, value, 'expected true or false');
}

/**
 * The schedule and window checked with AWS's RotationRules rules (rotation-protocol §1.9) by the
 * local Secrets Manager's validator: `schedule` alone first (so its errors name `schedule`), then
 * with the window (errors about the Duration name `window`).
 */
function scheduleOf(schedule: unknown, window: unknown): { schedule: string; windowHours: number; parsed: Schedule } {
  const strict = { allowShortRotationIntervals: false };
  if (typeof schedule !== 'string' || !/^(rate|cron)\(/.test(schedule.trim())) {
    throw new DeployParameterError('schedule', schedule, 'expected rate(N hours|days) or cron(0 H DOM MON DOW *), UTC');
  }
  try {
    parseRotationRules({ ScheduleExpression: schedule }, strict);
  } catch (err) {
    throw new DeployParameterError('schedule', schedule, (err as Error).message, { cause: err });
  }
  const m = typeof window === 'string' ? /^(\d{1,2})h$/.exec(window) : null;
  if (!m) throw new DeployParameterError('window', window, 'expected whole hours like "2h" (1h-24h)');
  try {
    const parsed = parseRotationRules({ ScheduleExpression: schedule, Duration: window as string }, strict)!;
    return { schedule, windowHours: Number(m[1]), parsed };
  } catch (err) {
    throw new DeployParameterError('window', window, (err as Error).message, { cause: err });
  }
}

/**
 * Validates deploy parameters (CDK context values are strings; tests may pass booleans/numbers).
 * Unknown names are rejected. Throws {@link DeployParameterError} naming the parameter.
 */
export function resolveParams(raw: RawParams = {}): DeployParams {
  for (const key of Object.keys(raw)) {
    if (!(PARAM_NAMES as readonly string[]).includes(key)) {
      throw new DeployParameterError(
        key,
        raw[key as keyof RawParams],
        `unknown parameter; known: ${PARAM_NAMES.join(', ')}`,
      );
    }
  }
  const v = <K extends keyof RawParams>(k: K, fallback?: string): unknown => raw[k] ?? fallback;
  const region = text(
    'region',
    v('region', DEFAULTS.region),
    /^[a-z]{2}(-[a-z]+)+-\d$/,
    'expected a region like eu-west-1',
  );
  const azsRaw = v('azs', `${region}a,${region}b`);
  const azs = (typeof azsRaw === 'string' ? azsRaw.split(',') : Array.isArray(azsRaw) ? azsRaw : []).map(String);
  if (azs.length < 2 || !azs.every((az) => az.startsWith(region) && /^[a-z0-9-]+[a-z]$/.test(az))) {
    throw new DeployParameterError('azs', azsRaw, `expected two or more zones of ${region}, comma-separated`);
  }
  const { schedule, windowHours, parsed } = scheduleOf(v('schedule', DEFAULTS.schedule), v('window', DEFAULTS.window));
  const desired = Number(v('desiredCount', DEFAULTS.desiredCount));
  if (!Number.isInteger(desired) || desired < 1 || desired > 100) {
    throw new DeployParameterError('desiredCount', raw.desiredCount, 'expected an integer within 1-100');
  }
  const image = raw.image === undefined ? undefined : text('image', raw.image, /^\S+$/, 'expected an image URI');
  const certificateArn =
    raw.certificateArn === undefined
      ? undefined
      : text('certificateArn', raw.certificateArn, /^arn:aws[a-z-]*:acm:/, 'expected an ACM certificate ARN');
  const ident = /^[a-z][a-z0-9_]{0,15}$/;
  return {
    engine: oneOf('engine', v('engine', DEFAULTS.engine), ENGINES),
    strategy: oneOf('strategy', v('strategy', DEFAULTS.strategy), STRATEGIES),
    rotation: oneOf('rotation', v('rotation', DEFAULTS.rotation), ROTATIONS),
    schedule,
    windowHours,
    parsedSchedule: parsed,
    example: oneOf('example', v('example', DEFAULTS.example), EXAMPLES),
    image,
    secretKey: oneOf('secretKey', v('secretKey', DEFAULTS.secretKey), SECRET_KEYS),
    certificateArn,
    deletionProtection: bool('deletionProtection', v('deletionProtection', DEFAULTS.deletionProtection)),
    region,
    azs,
    desiredCount: desired,
    appUsername: text('appUsername', v('appUsername', DEFAULTS.appUsername), ident, 'expected [a-z][a-z0-9_]{0,15}'),
    dbName: text('dbName', v('dbName', DEFAULTS.dbName), ident, 'expected [a-z][a-z0-9_]{0,15}'),
  };
}
