/**
 * The SecretsManagerClient core creates from `clientConfig` (when no `client` is given), with the two
 * mistakes of a first setup turned into ConfigurationErrors that say how to fix them: an endpoint
 * variable that is not a URL (the SDK's bare ERR_INVALID_URL names no variable) and no region (the
 * SDK's "Region is missing").
 */
import type {
  GetSecretValueCommand,
  GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../errors.js';
import { secretsManagerSdk } from '../sdk.js';
import type { SecretsManagerLike } from '../types.js';

/** Where the SDK reads a Secrets Manager endpoint from the environment, in its order. */
const ENDPOINT_VARIABLES = ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL'];

const isHttpUrl = (v: string): boolean => {
  try {
    const { protocol } = new URL(v);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
};

/** Throws a ConfigurationError naming the setting when the endpoint the SDK would use is not an http(s) URL. */
export function checkEndpoint(clientConfig: Record<string, unknown> | undefined, env = process.env): void {
  const explicit = clientConfig?.endpoint;
  if (explicit !== undefined) {
    if (typeof explicit === 'string' && !isHttpUrl(explicit))
      throw new ConfigurationError(
        `dbcreds: clientConfig.endpoint '${explicit}' is not a URL: use the form http://host:port (e.g. http://127.0.0.1:4566)`,
        { keys: ['clientConfig.endpoint'] },
      );
    return;
  }
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return;
  const name = ENDPOINT_VARIABLES.find((n) => env[n] !== undefined && env[n] !== '');
  const value = name === undefined ? undefined : env[name]!;
  if (value !== undefined && !isHttpUrl(value))
    throw new ConfigurationError(
      `dbcreds: the environment variable ${name}='${value}' is not a URL: use the form http://host:port (e.g. http://127.0.0.1:4566)`,
      { keys: [] },
    );
}

/** A SecretsManagerClient with core's retry policy (the SDK's own retries would multiply core's). */
export class SdkClient implements SecretsManagerLike {
  readonly #sdk: SecretsManagerClient;
  #region: Promise<unknown> | undefined;

  constructor(clientConfig: Record<string, unknown> | undefined) {
    checkEndpoint(clientConfig);
    // The SDK loads here, when a source without `client` / `agent` is created (sdk.ts).
    this.#sdk = new (secretsManagerSdk().SecretsManagerClient)({ maxAttempts: 1, ...clientConfig });
  }

  async send(command: GetSecretValueCommand, options?: unknown): Promise<GetSecretValueCommandOutput> {
    // The region resolves once (environment, profile); a failure is retried at the next send.
    this.#region ??= Promise.resolve(this.#sdk.config.region()).catch((cause: unknown) => {
      this.#region = undefined;
      throw new ConfigurationError(
        'dbcreds: no AWS region for Secrets Manager: set the AWS_REGION environment variable, or clientConfig: { region: "us-east-1" }',
        { keys: ['clientConfig.region'], cause },
      );
    });
    await this.#region;
    return this.#sdk.send(command, options as Parameters<SecretsManagerClient['send']>[1]);
  }

  destroy(): void {
    this.#sdk.destroy();
  }
}
