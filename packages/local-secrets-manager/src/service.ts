import type { OperationContext, OperationHandler, OperationRegistry } from './context.js';
import { invalidRequest, MARKED_FOR_DELETION, notFound, ServiceError } from './errors.js';
import { randomArnSuffix, type SecretRecord, type SecretStore } from './store.js';
import { checkShape, type Input, type InputShape } from './validate.js';

export interface ServiceConfig {
  store: SecretStore;
  region: string;
  accountId: string;
  clock: () => number;
}

interface Operation {
  shape: InputShape;
  handler: OperationHandler;
}

/**
 * The operation registry and the context operations run in. It knows no operation itself: each API
 * area in operations/ registers its own with `define`.
 */
export class SecretsService implements OperationContext, OperationRegistry {
  readonly store: SecretStore;
  readonly region: string;
  readonly accountId: string;
  readonly clock: () => number;
  private readonly operations = new Map<string, Operation>();
  private readonly currentListeners: Array<(secret: SecretRecord) => void> = [];
  private readonly guards: Array<(operation: string, input: Input) => void> = [];

  constructor(config: ServiceConfig) {
    this.store = config.store;
    this.region = config.region;
    this.accountId = config.accountId;
    this.clock = config.clock;
  }

  /** `PrimaryRegion` / `ReplicationStatus` of a secret (set by replication; none without it). */
  replicationFields: (secret: SecretRecord) => Record<string, unknown> = () => ({});

  /** A defined operation's handler (replication wraps CreateSecret's). */
  handler(name: string): OperationHandler {
    return this.operations.get(name)!.handler;
  }

  shape(name: string): InputShape {
    return this.operations.get(name)!.shape;
  }

  define(name: string, shape: InputShape, handler: OperationHandler): void {
    this.operations.set(name, { shape, handler });
  }

  has(operation: string): boolean {
    return this.operations.has(operation);
  }

  /** Validates the input against the operation's shape, then runs it. */
  async call(operation: string, input: Input): Promise<unknown> {
    const op = this.operations.get(operation);
    if (!op) throw new ServiceError('UnknownOperationException', `Operation ${operation} is not supported.`);
    checkShape(input, op.shape);
    for (const guard of this.guards) guard(operation, input);
    if (this.store.purgeExpired(this.clock())) this.store.save();
    return await op.handler(input);
  }

  /** Runs before every operation (after its shape check); throws to refuse it (replicas are read-only). */
  addGuard(guard: (operation: string, input: Input) => void): void {
    this.guards.push(guard);
  }

  /** Called whenever AWSCURRENT changes version (the rotation schedule counts it as a rotation). */
  onCurrentChanged(listener: (secret: SecretRecord) => void): void {
    this.currentListeners.push(listener);
  }

  arnFor(name: string): string {
    return `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:${name}-${randomArnSuffix()}`;
  }

  secret(secretId: string): SecretRecord {
    const secret = this.store.find(secretId);
    if (!secret) throw notFound();
    return secret;
  }

  liveSecret(secretId: string): SecretRecord {
    const secret = this.secret(secretId);
    if (secret.deletedDate !== undefined) throw invalidRequest(MARKED_FOR_DELETION);
    return secret;
  }

  touch(secret: SecretRecord): void {
    secret.lastChangedDate = this.clock();
  }

  currentChanged(secret: SecretRecord): void {
    secret.currentChangedDate = this.clock();
    for (const listener of this.currentListeners) listener(secret);
  }
}
