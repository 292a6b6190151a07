/**
 * Reading through the Secrets Manager Agent (or the Lambda extension): a cache shared by the host's
 * processes. After a refused login it looks in that cache first (another process may already have
 * read the new AWSCURRENT or AWSPENDING), spreads the host's reads, and only then bypasses the cache
 * (`refreshNow`, at most once per minRefreshIntervalMs outside a wait). The cache can be behind what
 * this source already moved to, so versions it left, or older than the rejected one, are not taken.
 */
import type { Credentials } from '../credentials.js';
import type { ExpiryPolicy } from '../entry.js';
import { type Lookup, lookForReplacement, type StageReader } from '../fallback.js';
import { type FetchContext, fetchSecret, sleep } from '../fetch.js';
import { plainGetSecretValue } from '../sdk.js';
import type { DbCredentials, VersionStage } from '../types.js';
import { AgentClient, type ResolvedAgentOptions } from './agent-client.js';
import { SupersededVersions } from './superseded.js';
import type { BackendContext, SourceBackend } from './types.js';

export class AgentBackend implements SourceBackend {
  readonly from: string;
  readonly label = undefined;
  readonly expiry: ExpiryPolicy;
  readonly #o: ResolvedAgentOptions;
  readonly #ctx: BackendContext;
  readonly #client: AgentClient;
  readonly #fetch: FetchContext;
  /** Last read with refreshNow=true. */
  #lastForcedAt = Number.NEGATIVE_INFINITY;
  /** Versions the source moved away from (bounded): the agent's cache may still hold them. */
  readonly #superseded = new SupersededVersions();
  readonly #cached = this.#reader(false);
  readonly #forced = this.#reader(true);

  constructor(ctx: BackendContext, options: ResolvedAgentOptions, expiry: ExpiryPolicy) {
    this.#o = options;
    this.#ctx = ctx;
    this.expiry = expiry;
    this.from = `the Secrets Manager Agent at ${options.endpoint.origin}`;
    this.#client = new AgentClient(options);
    // The agent reads only the request's input: no AWS SDK module is loaded for it.
    this.#fetch = { ...ctx.fetch, client: this.#client, from: this.from, command: plainGetSecretValue };
  }

  async read(stage: VersionStage, refresh: boolean): Promise<Credentials> {
    return (await this.#read(stage, false, refresh && this.#takeForced()))!;
  }

  async replacementFor(rejected: DbCredentials, round: 'first' | 'poll'): Promise<Lookup> {
    if (round === 'poll') {
      // The cache already held nothing new: each poll asks Secrets Manager (the wait spaces the polls).
      const l = this.#o.refreshNow
        ? await lookForReplacement(this.#forced, rejected, 'first', false)
        : await lookForReplacement(this.#cached, rejected, 'after', false);
      return this.#behind(l, rejected);
    }
    // The host's processes are refused at about the same moment and the agent does not coalesce
    // misses: spread their reads so the later ones find the first one's in the agent's cache.
    await this.#spread();
    const first = await lookForReplacement(this.#cached, rejected, 'after');
    if (first.found || !this.#forcedAllowed()) return this.#behind(first, rejected);
    // Another process may be forcing the same read right now: wait, look in the cache again.
    // A not-found AWSPENDING is never cached by the agent: that answer was already fresh.
    await this.#spread();
    const pending = first.pendingAbsent ? 'skip' : 'after';
    const again = await lookForReplacement(this.#cached, rejected, pending);
    if (again.found || !this.#takeForced()) return this.#behind(again, rejected);
    // One round trip with AWSPENDING first then fixes the agent's AWSPENDING entry for the whole host.
    const forced = await lookForReplacement(this.#forced, rejected, first.pendingAbsent ? 'skip' : 'first');
    return this.#behind(forced, rejected);
  }

  accepts(read: Credentials, cached: Credentials): boolean {
    return read.versionId === cached.versionId || this.#isForward(read, cached);
  }

  moved(previous: Credentials, next: Credentials): void {
    this.#superseded.moved(previous, next);
  }

  close(): void {
    this.#client.destroy();
  }

  /** Nothing found and AWSCURRENT is not the rejected version: the agent's cache is behind. */
  #behind(l: Lookup, rejected: DbCredentials): Lookup {
    return l.found || l.current.versionId === rejected.versionId ? l : { ...l, behind: true };
  }

  #reader(refreshNow: boolean): StageReader {
    return {
      read: (stage, optional) => this.#read(stage, optional, refreshNow),
      // Through the cache, also not older than the rejected version; refreshNow reads are authoritative.
      usable: (c, rejected) => c.versionId !== rejected.versionId && (refreshNow || this.#isForward(c, rejected)),
    };
  }

  #read(stage: VersionStage, optional: boolean, refreshNow: boolean): Promise<Credentials | undefined> {
    if (refreshNow) this.#ctx.countForced();
    return fetchSecret(this.#fetch, stage, optional, refreshNow);
  }

  /** Not a version the source moved away from, and not created before `ref` (when both dates are known). */
  #isForward(c: Credentials, ref: DbCredentials): boolean {
    if (this.#superseded.has(c.versionId)) return false;
    return c.createdAt === undefined || ref.createdAt === undefined || c.createdAt >= ref.createdAt;
  }

  #forcedAllowed(): boolean {
    return this.#o.refreshNow && this.#ctx.clock.now() - this.#lastForcedAt >= this.#ctx.minRefreshIntervalMs;
  }

  /** #forcedAllowed(), and takes the slot. */
  #takeForced(): boolean {
    if (!this.#forcedAllowed()) return false;
    this.#lastForcedAt = this.#ctx.clock.now();
    return true;
  }

  /** A random wait in [0, spreadMs]; ends (rejecting) on close(). */
  #spread(): Promise<void> {
    const max = this.#o.spreadMs;
    return max > 0 ? sleep(Math.random() * max, this.#ctx.closed) : Promise.resolve();
  }
}
