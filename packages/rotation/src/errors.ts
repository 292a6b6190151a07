import { DbCredsError } from '@dbcreds/core';

/** Where in the rotation an error happened. */
export interface RotationErrorContext {
  step?: string;
  secretId?: string;
  cause?: unknown;
}

const CODES: Record<string, string> = {
  RotationConfigurationError: 'DBCREDS_ROTATION_CONFIGURATION',
  RotationStateError: 'DBCREDS_ROTATION_STATE',
  SecretValueError: 'DBCREDS_ROTATION_SECRET_VALUE',
  SecretsManagerCallError: 'DBCREDS_ROTATION_SECRETS_MANAGER',
  DatabaseLoginError: 'DBCREDS_ROTATION_DB_LOGIN',
  DatabaseStatementError: 'DBCREDS_ROTATION_DB_STATEMENT',
};

/**
 * Base class of every error this package throws (a core `DbCredsError`, `code` DBCREDS_ROTATION_*).
 * Messages never contain passwords; `cause` is the SDK error or a ScrubbedDriverError.
 */
export class RotationError extends DbCredsError {
  readonly step: string | undefined;
  readonly secretId: string | undefined;
  constructor(message: string, context: RotationErrorContext = {}) {
    const prefix = context.step ? `[${context.step}] ` : '';
    super(`${prefix}${message}`, { cause: context.cause, code: CODES[new.target.name] ?? 'DBCREDS_ROTATION' });
    this.step = context.step;
    this.secretId = context.secretId;
  }
}

/** Invalid handler options or environment variables. */
export class RotationConfigurationError extends RotationError {}

/** The secret's rotation state forbids this step (rotation disabled, unknown token, not AWSPENDING, unknown step). */
export class RotationStateError extends RotationError {}

/** A secret value is missing, not JSON, lacks required fields, or the pending value doesn't match the strategy. */
export class SecretValueError extends RotationError {}

/** A Secrets Manager call failed. `cause` is the SDK error. */
export class SecretsManagerCallError extends RotationError {}

/** Logging in to the database failed. `cause` is the scrubbed driver error (code/errno kept). */
export class DatabaseLoginError extends RotationError {
  readonly username: string;
  constructor(message: string, username: string, context: RotationErrorContext = {}) {
    super(message, context);
    this.username = username;
  }
}

/** A SQL statement failed. `cause` is the scrubbed driver error (never carries SQL text). */
export class DatabaseStatementError extends RotationError {}

/**
 * A driver error with everything that could carry a password removed: no `sql`, no parameters, no
 * original stack; the message has the given secrets replaced and anything after "near" cut (syntax
 * errors quote fragments of the statement). Keeps `code`, `errno`, `sqlState` and `severity` so
 * callers (e.g. core's isAuthError) can classify it.
 */
export class ScrubbedDriverError extends Error {
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;
  readonly severity: string | undefined;
  constructor(original: unknown, secrets: readonly string[]) {
    const o = (typeof original === 'object' && original !== null ? original : {}) as Record<string, unknown>;
    const rawMessage = original instanceof Error ? original.message : String(original);
    super(scrub(rawMessage, secrets).replace(/\bnear\b[\s\S]*$/i, 'near <redacted>'));
    this.name = `ScrubbedDriverError(${typeof o.name === 'string' ? o.name : 'Error'})`;
    this.code = typeof o.code === 'string' ? o.code : undefined;
    this.errno = typeof o.errno === 'number' ? o.errno : undefined;
    this.sqlState = typeof o.sqlState === 'string' ? o.sqlState : undefined;
    this.severity = typeof o.severity === 'string' ? o.severity : undefined;
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Replaces every occurrence of each non-empty secret (longest first) with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('***');
  }
  return out;
}
