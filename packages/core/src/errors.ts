/** Base class of every error thrown by dbcreds. Never carries secret values. */
export class DbCredsError extends Error {
  /** Stable machine-readable code, e.g. `DBCREDS_SECRET_FETCH`. */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? 'DBCREDS_ERROR';
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
