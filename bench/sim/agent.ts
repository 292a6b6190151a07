/**
 * The Secrets Manager Agent per host, as a model in front of the Secrets Manager model, and the HTTP
 * seam that lets core's real agent backend and agent client talk to it. The model follows what
 * packages/local-secrets-manager/src/agent.ts reproduces from the agent's source: a cache per
 * (secretId, versionStage) with a TTL (default 300 s); a fresh entry is served; a missing one is
 * fetched (GetSecretValue); an expired one is checked with DescribeSecret and re-fetched only when its
 * version no longer carries the stage; `refreshNow` bypasses and rewrites the entry; concurrent misses
 * are not coalesced; errors are not cached and keep their status with `{"__type", "message"}`.
 * The seam replaces `node:http`'s `request` (synced into ES module bindings) for `*.sim` hosts only.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import type { SecretsManagerModel } from './secrets-manager.js';
import type { VirtualTime } from './virtual-time.js';

type Answer = { status: number; body: string };
type GsvOut = ReturnType<SecretsManagerModel['getSecretValue']>;

export class HostAgent {
  readonly #sm: SecretsManagerModel;
  readonly #vt: VirtualTime;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { out: GsvOut; at: number }>();
  readonly #onRequest: () => void;

  constructor(sm: SecretsManagerModel, vt: VirtualTime, ttlMs: number, onRequest: () => void) {
    this.#onRequest = onRequest;
    this.#sm = sm;
    this.#vt = vt;
    this.#ttlMs = ttlMs;
  }

  async handle(q: URLSearchParams): Promise<Answer> {
    this.#onRequest();
    const stage = q.get('versionStage') ?? 'AWSCURRENT';
    const refreshNow = q.get('refreshNow') === 'true';
    const entry = this.#cache.get(stage);
    try {
      if (!refreshNow && entry !== undefined) {
        if (this.#vt.now - entry.at <= this.#ttlMs) return ok(entry.out);
        const stages = await this.#sm.request('DescribeSecret', 'agent', () => this.#sm.versionIdsToStages());
        if (stages[entry.out.VersionId]?.includes(stage)) {
          entry.at = this.#vt.now;
          return ok(entry.out);
        }
      }
      const out = await this.#sm.request('GetSecretValue', 'agent', () => this.#sm.getSecretValue(stage));
      this.#cache.set(stage, { out, at: this.#vt.now });
      return ok(out);
    } catch (err) {
      const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
      return {
        status: e.$metadata?.httpStatusCode ?? 500,
        body: JSON.stringify({ __type: e.name, message: e.message }),
      };
    }
  }
}

function ok(out: GsvOut): Answer {
  // The agent answers GetSecretValue's JSON, CreatedDate in epoch seconds.
  return { status: 200, body: JSON.stringify({ ...out, CreatedDate: out.CreatedDate.getTime() / 1000 }) };
}

/**
 * Routes `http.request` for `http://<host>.sim:2773/...` to `agents.get(host)`; everything else goes to
 * the real `request`. Returns the function that restores it.
 */
export function routeAgentHttp(agents: Map<string, HostAgent>): () => void {
  const real = http.request;
  const fake = ((url: URL | string, options: { signal?: AbortSignal } = {}) => {
    const u = typeof url === 'string' ? new URL(url) : url;
    if (!u.hostname.endsWith('.sim')) return (real as (...a: unknown[]) => unknown)(url, options);
    const agent = agents.get(u.hostname);
    const req = new EventEmitter() as EventEmitter & { end(): void; destroy(err?: Error): void };
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      req.emit('error', err);
    };
    req.destroy = (err?: Error) => fail(err ?? new Error('socket hang up'));
    options.signal?.addEventListener('abort', () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' })), {
      once: true,
    });
    req.end = () => {
      if (agent === undefined) {
        queueMicrotask(() =>
          fail(Object.assign(new Error(`connect ECONNREFUSED ${u.host}`), { code: 'ECONNREFUSED' })),
        );
        return;
      }
      // A loopback round trip: about a millisecond.
      setTimeout(() => {
        void agent.handle(u.searchParams).then(({ status, body }) => {
          if (done) return;
          done = true;
          const res = new EventEmitter() as EventEmitter & { statusCode: number };
          res.statusCode = status;
          req.emit('response', res);
          res.emit('data', Buffer.from(body));
          res.emit('end');
        });
      }, 1);
    };
    return req;
  }) as unknown as typeof http.request;
  http.request = fake;
  syncBuiltinESMExports();
  return () => {
    http.request = real;
    syncBuiltinESMExports();
  };
}
