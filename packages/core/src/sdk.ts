/**
 * The AWS SDK modules core uses, loaded on first use rather than at import: a source reading through
 * the agent, a mounted file or the IAM signer never loads the Secrets Manager client (about half of a
 * Lambda's `require('@dbcreds/pg')` time otherwise), and the error tables load on the first error.
 * `require` in both builds: the SDK's packages have no `exports` map, so Node's `import` of them loads
 * the same CommonJS files, and `instanceof` against the classes an app imports holds.
 */
import type * as SecretsManagerSdk from '@aws-sdk/client-secrets-manager';
import type { GetSecretValueCommand, GetSecretValueCommandInput } from '@aws-sdk/client-secrets-manager';
import type * as ErrorClassification from '@smithy/service-error-classification';
import peerRequire from './sdk-require.cjs';

let sdk: typeof SecretsManagerSdk | undefined;
let classification: typeof ErrorClassification | undefined;

/** `@aws-sdk/client-secrets-manager`, loaded at the first call. */
export function secretsManagerSdk(): typeof SecretsManagerSdk {
  sdk ??= peerRequire('@aws-sdk/client-secrets-manager') as typeof SecretsManagerSdk;
  return sdk;
}

/** `@smithy/service-error-classification` (the tables of the SDK's retry strategy), loaded at the first call. */
export function errorClassification(): typeof ErrorClassification {
  classification ??= peerRequire('@smithy/service-error-classification') as typeof ErrorClassification;
  return classification;
}

/** A GetSecretValueCommand for an AWS SDK client (the SDK's class: a client's middleware runs on it). */
export function sdkGetSecretValue(input: GetSecretValueCommandInput): GetSecretValueCommand {
  return new (secretsManagerSdk().GetSecretValueCommand)(input);
}

/** The same request for a client that reads only `input` (the agent's): no SDK needed. */
export function plainGetSecretValue(input: GetSecretValueCommandInput): GetSecretValueCommand {
  return { input } as GetSecretValueCommand;
}
