import type { SecretRecord, SecretStore } from './store.js';
import type { Input, InputShape } from './validate.js';

export type OperationHandler = (input: Input) => unknown;

/** What an operation may use: the store, the account it answers for, the clock and the shared lookups. */
export interface OperationContext {
  readonly store: SecretStore;
  readonly region: string;
  readonly accountId: string;
  readonly clock: () => number;
  /** A new ARN for `name`, with AWS's random 6-character suffix. */
  arnFor(name: string): string;
  /** Resolves a SecretId or throws ResourceNotFoundException. */
  secret(secretId: string): SecretRecord;
  /** Like secret(), but refuses secrets scheduled for deletion (InvalidRequestException). */
  liveSecret(secretId: string): SecretRecord;
  /** Records a metadata or value change (LastChangedDate). */
  touch(secret: SecretRecord): void;
  /** DescribeSecret / ListSecrets members of a replicated secret (`PrimaryRegion`, `ReplicationStatus`). */
  replicationFields(secret: SecretRecord): Record<string, unknown>;
  /** AWSCURRENT moved to another version: listeners (the rotation schedule) are told. */
  currentChanged(secret: SecretRecord): void;
}

/** Where each API area registers its operations: name, input shape, handler. */
export interface OperationRegistry {
  define(name: string, shape: InputShape, handler: OperationHandler): void;
}
