import { RotationConfigurationError } from './errors.js';
import type { RotationHandlerOptions, RotationLogger, RotationStrategy } from './types.js';

/**
 * Characters generated passwords leave out by default, so a password is safe unescaped in a
 * connection URL (`postgres://u:p@h/db`, `mysql://…`), a libpq/JDBC key=value string, a shell
 * argument (even unquoted) and a .env file: quotes, backslash, URL delimiters `/ @ : ? # [ ] %`,
 * and shell metacharacters `` ` $ & ; | < > ( ) { } ! * ~ ^ = `` plus space. What remains is
 * letters, digits and `+ , - . _` (≈ 6 bits per character; 32 characters ≈ 194 bits).
 */
export const DEFAULT_EXCLUDE_CHARACTERS = '"\'\\/@:?#[]%`$&;|<>(){}!*~^= ';
export const DEFAULT_PASSWORD_LENGTH = 32;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

export interface ResolvedOptions {
  strategy: RotationStrategy;
  passwordLength: number;
  excludeCharacters: string;
  usernameLimit: number | undefined;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  ssl: boolean | Record<string, unknown> | undefined;
  generatePassword: (() => string | Promise<string>) | undefined;
  logger: RotationLogger;
}

const KNOWN_KEYS = new Set<string>([
  'strategy',
  'client',
  'clientConfig',
  'passwordLength',
  'excludeCharacters',
  'usernameLimit',
  'connectTimeoutMs',
  'queryTimeoutMs',
  'ssl',
  'generatePassword',
  'logger',
] satisfies (keyof RotationHandlerOptions)[]);

const SILENT: RotationLogger = { info() {}, warn() {}, error() {} };

function int(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RotationConfigurationError(`${name} must be an integer between ${min} and ${max}`);
  }
  return value;
}

/** Validates options: unknown keys and out-of-range values are rejected. */
export function resolveOptions(options: RotationHandlerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RotationConfigurationError('options object is required');
  }
  const unknown = Object.keys(options).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0) {
    throw new RotationConfigurationError(`unknown option(s): ${unknown.join(', ')}`);
  }
  if (options.strategy !== 'single-user' && options.strategy !== 'alternating-users') {
    throw new RotationConfigurationError('strategy must be "single-user" or "alternating-users"');
  }
  if (options.excludeCharacters !== undefined && typeof options.excludeCharacters !== 'string') {
    throw new RotationConfigurationError('excludeCharacters must be a string');
  }
  if (options.generatePassword !== undefined && typeof options.generatePassword !== 'function') {
    throw new RotationConfigurationError('generatePassword must be a function');
  }
  if (options.client !== undefined && options.clientConfig !== undefined) {
    throw new RotationConfigurationError('give either client or clientConfig, not both');
  }
  const logger = options.logger ?? SILENT;
  for (const m of ['info', 'warn', 'error'] as const) {
    if (typeof logger[m] !== 'function') throw new RotationConfigurationError(`logger.${m} must be a function`);
  }
  return {
    strategy: options.strategy,
    passwordLength: int('passwordLength', options.passwordLength, 8, 4096) ?? DEFAULT_PASSWORD_LENGTH,
    excludeCharacters: options.excludeCharacters ?? DEFAULT_EXCLUDE_CHARACTERS,
    usernameLimit: int('usernameLimit', options.usernameLimit, 1, 255),
    connectTimeoutMs: int('connectTimeoutMs', options.connectTimeoutMs, 1, 600_000) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: int('queryTimeoutMs', options.queryTimeoutMs, 1, 600_000) ?? DEFAULT_QUERY_TIMEOUT_MS,
    ssl: options.ssl,
    generatePassword: options.generatePassword,
    logger,
  };
}
