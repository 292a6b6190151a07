import { RotationConfigurationError } from './errors.js';
import { createRotationHandler, type RotationHandler } from './handler.js';
import type { RotationEvent, RotationHandlerOptions, RotationLogger } from './types.js';

/** JSON-line logger on stdout/stderr (CloudWatch). */
export const consoleLogger: RotationLogger = {
  info: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
};

function intVar(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new RotationConfigurationError(`${name} must be a positive integer`);
  return Number(raw);
}

const STRATEGY_ALIASES: Record<string, RotationHandlerOptions['strategy']> = {
  'single-user': 'single-user',
  single: 'single-user',
  'alternating-users': 'alternating-users',
  alternating: 'alternating-users',
  'multi-user': 'alternating-users',
  multi: 'alternating-users',
};

/**
 * Builds handler options from environment variables (names as the AWS rotation templates):
 * ROTATION_STRATEGY (required), EXCLUDE_CHARACTERS, PASSWORD_LENGTH, USERNAME_CHARACTER_LIMIT,
 * CONNECT_TIMEOUT_MS, SECRETS_MANAGER_ENDPOINT.
 */
export function optionsFromEnv(env: Record<string, string | undefined> = process.env): RotationHandlerOptions {
  const strategy = STRATEGY_ALIASES[(env.ROTATION_STRATEGY ?? '').trim().toLowerCase()];
  if (strategy === undefined) {
    throw new RotationConfigurationError('ROTATION_STRATEGY must be "single-user" or "alternating-users"');
  }
  const options: RotationHandlerOptions = { strategy, logger: consoleLogger };
  const passwordLength = intVar(env, 'PASSWORD_LENGTH');
  if (passwordLength !== undefined) options.passwordLength = passwordLength;
  const usernameLimit = intVar(env, 'USERNAME_CHARACTER_LIMIT');
  if (usernameLimit !== undefined) options.usernameLimit = usernameLimit;
  const connectTimeoutMs = intVar(env, 'CONNECT_TIMEOUT_MS');
  if (connectTimeoutMs !== undefined) options.connectTimeoutMs = connectTimeoutMs;
  if (env.EXCLUDE_CHARACTERS !== undefined && env.EXCLUDE_CHARACTERS !== '') {
    options.excludeCharacters = env.EXCLUDE_CHARACTERS;
  }
  if (env.SECRETS_MANAGER_ENDPOINT) options.clientConfig = { endpoint: env.SECRETS_MANAGER_ENDPOINT };
  return options;
}

let cached: RotationHandler | undefined;

/**
 * Ready-made Lambda handler: configured from environment variables on the first invocation (so a
 * configuration error fails the invocation with a clear message) and reused by warm invocations.
 */
export async function handler(event: RotationEvent): Promise<void> {
  cached ??= createRotationHandler(optionsFromEnv());
  await cached(event);
}
