/** Names of an error's classes from its own up to DbCredsError (non-enumerable, shared by every copy of core). */
const CLASSES = Symbol.for('@dbcreds/core.DbCredsError.classes');

/**
 * Base class of every error thrown by dbcreds. Never carries secret values.
 * `instanceof` holds across copies of core (its ES module and CommonJS builds loaded side by side,
 * or two installed versions): an error is an instance of a dbcreds error class whose name is in its
 * class chain.
 */
export class DbCredsError extends Error {
  /** Stable machine-readable code, e.g. `DBCREDS_SECRET_FETCH`. */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? 'DBCREDS_ERROR';
    const classes: string[] = [];
    for (let c: unknown = new.target; c !== Error && typeof c === 'function'; c = Object.getPrototypeOf(c)) {
      classes.push(c.name);
    }
    Object.defineProperty(this, CLASSES, { value: Object.freeze(classes) });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this`: the class instanceof was called on (a subclass too), not DbCredsError.
    // biome-ignore lint/complexity/noThisInStatic: see above
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const classes =
      value !== null && typeof value === 'object' ? (value as Record<symbol, unknown>)[CLASSES] : undefined;
    // biome-ignore lint/complexity/noThisInStatic: see above
    return Array.isArray(classes) && classes.includes(this.name);
  }
}

/** Invalid options (unknown key, wrong type or range). `keys` lists the offending option keys. */
export class ConfigurationError extends DbCredsError {
  readonly keys: readonly string[];

  constructor(message: string, options?: { keys?: readonly string[]; cause?: unknown }) {
    super(message, { cause: options?.cause, code: 'DBCREDS_CONFIGURATION' });
    this.keys = options?.keys ?? [];
  }
}

/** Secrets Manager has no such secret (or no value at the requested stage). Not retried. */
export class SecretNotFoundError extends DbCredsError {
  readonly secretId: string;
  readonly versionStage: string;

  constructor(secretId: string, versionStage: string, options?: { cause?: unknown }) {
    super(`Secret '${secretId}' not found, or it has no value at stage ${versionStage} (ResourceNotFoundException)`, {
      cause: options?.cause,
      code: 'DBCREDS_SECRET_NOT_FOUND',
    });
    this.secretId = secretId;
    this.versionStage = versionStage;
  }
}

/** The secret value is not a usable database secret. `field` names the offending key; the value is never included. */
export class SecretFormatError extends DbCredsError {
  readonly secretId: string;
  readonly field: string | undefined;

  constructor(secretId: string, detail: string, options?: { field?: string; cause?: unknown }) {
    super(`Secret '${secretId}' is not a valid database secret: ${detail}`, {
      cause: options?.cause,
      code: 'DBCREDS_SECRET_FORMAT',
    });
    this.secretId = secretId;
    this.field = options?.field;
  }
}

/** GetSecretValue failed (after retries for transient errors). `cause` is the AWS SDK / network error. */
export class SecretFetchError extends DbCredsError {
  readonly secretId: string;
  /** Number of GetSecretValue attempts made for this fetch. */
  readonly attempts: number;

  /** `from`: where the fetch went (default 'AWS Secrets Manager'; e.g. the agent, the RDS token signer). */
  constructor(secretId: string, options: { cause: unknown; attempts: number; message?: string; from?: string }) {
    super(
      options.message ??
        `Failed to fetch secret '${secretId}' from ${options.from ?? 'AWS Secrets Manager'}: ${describe(options.cause)}`,
      {
        cause: options.cause,
        code: 'DBCREDS_SECRET_FETCH',
      },
    );
    this.secretId = secretId;
    this.attempts = options.attempts;
  }
}

/** Thrown by calls on a closed source. */
export class SourceClosedError extends DbCredsError {
  constructor(secretId: string) {
    super(`Credential source for secret '${secretId}' is closed`, { code: 'DBCREDS_CLOSED' });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const name = typeof code === 'string' && code !== err.name ? `${err.name} ${code}` : err.name;
    return err.message ? `${name}: ${err.message}` : name;
  }
  return String(err);
}
