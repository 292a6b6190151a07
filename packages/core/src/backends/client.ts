/** Secrets Manager through a `SecretsManagerLike` client: the AWS SDK's (core-made or the user's), or any other. */
import type { Credentials } from '../credentials.js';
import type { ExpiryPolicy } from '../entry.js';
import { type Lookup, lookForReplacement, type StageReader } from '../fallback.js';
import { type FetchContext, fetchSecret } from '../fetch.js';
import { plainGetSecretValue } from '../sdk.js';
import type { DbCredentials, SecretsManagerLike, VersionStage } from '../types.js';
import type { BackendContext, SourceBackend } from './types.js';

export interface ClientBackendOptions {
  expiry: ExpiryPolicy;
  /** Destroyed on close() (a client core created). */
  owned?: { destroy(): void };
  from?: string;
  label?: string;
  /** The client reads only the request's input (not an AWS SDK client): no SDK command is built. */
  plainCommands?: boolean;
}

export class ClientBackend implements SourceBackend {
  readonly from: string | undefined;
  readonly label: string | undefined;
  readonly expiry: ExpiryPolicy;
  readonly #fetch: FetchContext;
  readonly #owned: { destroy(): void } | undefined;
  readonly #reader: StageReader = {
    read: (stage, optional) => fetchSecret(this.#fetch, stage, optional),
    usable: (c, rejected) => c.versionId !== rejected.versionId,
  };

  constructor(ctx: BackendContext, client: SecretsManagerLike, options: ClientBackendOptions) {
    this.from = options.from;
    this.label = options.label;
    this.expiry = options.expiry;
    this.#owned = options.owned;
    const from = options.from === undefined ? {} : { from: options.from };
    this.#fetch = { ...ctx.fetch, client, ...from, ...(options.plainCommands ? { command: plainGetSecretValue } : {}) };
  }

  async read(stage: VersionStage): Promise<Credentials> {
    return (await fetchSecret(this.#fetch, stage, false))!;
  }

  replacementFor(rejected: DbCredentials, round: 'first' | 'poll'): Promise<Lookup> {
    // A poll comes again shortly: no second AWSCURRENT read after an absent AWSPENDING.
    return lookForReplacement(this.#reader, rejected, 'after', round === 'first');
  }

  accepts(): boolean {
    return true;
  }

  moved(): void {}

  close(): void {
    this.#owned?.destroy();
  }
}
