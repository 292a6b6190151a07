/** The subscription side of a credential source (on / once / off / stats), kept apart from its state machine. */
import type { CacheEntry } from './entry.js';
import { SourceReporter } from './reporter.js';
import type { CredentialSourceEventName, CredentialSourceEvents, CredentialSourceStats, Logger } from './types.js';

export abstract class SourceEvents {
  protected readonly report: SourceReporter;

  constructor(secretId: string, logger: Logger | undefined) {
    this.report = new SourceReporter(secretId, logger);
  }

  /** The cached entry, for stats(). */
  protected abstract get cached(): CacheEntry | undefined;

  on<E extends CredentialSourceEventName>(event: E, listener: (p: CredentialSourceEvents[E]) => void): this {
    this.report.emitter.add(event, listener, false);
    return this;
  }

  once<E extends CredentialSourceEventName>(event: E, listener: (p: CredentialSourceEvents[E]) => void): this {
    this.report.emitter.add(event, listener, true);
    return this;
  }

  off<E extends CredentialSourceEventName>(event: E, listener: (p: CredentialSourceEvents[E]) => void): this {
    this.report.emitter.remove(event, listener);
    return this;
  }

  stats(): CredentialSourceStats {
    return this.report.stats(this.cached);
  }
}
