/**
 * An AWS Secrets Manager Agent-compatible endpoint over the local service, faithful to the agent's
 * behaviour as its source shows it (aws/aws-secretsmanager-agent: server.rs, parse.rs, cache_manager.rs,
 * aws_secretsmanager_caching/src/lib.rs):
 * - `GET /secretsmanager/get?secretId=…[&versionId=…][&versionStage=…][&refreshNow=true|1|false|0]`, and
 *   the path style `GET /v1/<secretId>?…`; `GET /ping` answers `healthy` without a token.
 * - Checks in the agent's order: any `X-Forwarded-For` → 400 `Forwarded`; token missing or wrong in
 *   `X-Aws-Parameters-Secrets-Token` / `X-Vault-Token` → 403 `Bad Token`; non-GET → 405 `Not allowed`;
 *   unknown parameter → 400 `unknown parameter: <p>`; missing secretId → 400; other paths → 404.
 * - A cache keyed by (secretId, versionId, versionStage) as given (no versionStage and
 *   `versionStage=AWSCURRENT` are two entries). Fresh entries (age ≤ TTL) are served; a missing one is
 *   fetched (GetSecretValue); an expired one is checked with DescribeSecret first and re-fetched only when
 *   the cached version no longer carries the stage (else its TTL is reset). `refreshNow` bypasses the
 *   cache, writes the fresh value back (resetting the TTL), and on failure answers the error and leaves
 *   the cache untouched. Concurrent misses are not coalesced. Errors are not cached.
 * - With an expired entry, a transient upstream failure (5xx, network) serves the cached value
 *   (`ignore_transient_errors`, default true).
 * - Upstream errors keep their status; the body is `{"__type": "<code>", "message": "<msg>"}`.
 * Upstream calls go to the service in-process and are counted here, apart from the HTTP API's counters.
 * Not modelled: `max_conn` (429), the cache size limit beyond a simple LRU of `cacheSize` entries.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceError } from './errors.js';
import type { SecretsService } from './service.js';

export interface LocalAgentOptions {
  /** TCP port (default 0: a free port). The real agent's default is 2773. */
  port?: number;
  /** Interface (default `127.0.0.1`; the real agent binds only there). */
  host?: string;
  /** SSRF token (default: 64 random hex digits, read it from `token`). */
  token?: string;
  /** Cache TTL in ms (default 300_000, the agent's `ttl_seconds` 300; 0 = every read revalidates). */
  ttlMs?: number;
  /** Cache entries kept (default 1000, the agent's `cache_size`); the least recently written go first. */
  cacheSize?: number;
  /**
   * Latency added to each upstream call, ms (default 0). Real calls take tens of ms, during which
   * concurrent misses of the same entry all go upstream (the agent does not coalesce them); in-process
   * calls answer at once and would hide that.
   */
  upstreamLatencyMs?: number;
}

export interface LocalAgent {
  /** `http://HOST:PORT`: the agent endpoint (e.g. `createCredentialSource({ agent: { endpoint, token } })`). */
  readonly endpoint: string;
  readonly port: number;
  /** The SSRF token requests must send. */
  readonly token: string;
  /** Calls the agent made to Secrets Manager (`GetSecretValue`, `DescribeSecret`), failed ones included. */
  callCount(operation: string): number;
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Agent requests answered (by status code), `/ping` included. */
  requests(): Record<number, number>;
  /** While true, every upstream call fails like an unreachable Secrets Manager (transient, HTTP 502). */
  setUpstreamDown(down: boolean): void;
  close(): Promise<void>;
}

const TOKEN_HEADERS = ['x-aws-parameters-secrets-token', 'x-vault-token'];
const PATH_PREFIX = '/v1/';
const DEFAULT_TTL_MS = 300_000;

interface Query {
  secretId: string;
  versionId: string | undefined;
  versionStage: string | undefined;
  refreshNow: boolean;
}

interface CacheEntry {
  value: Record<string, unknown>;
  writtenAt: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(body);
  }
}

const KEYS = ['port', 'host', 'token', 'ttlMs', 'cacheSize', 'upstreamLatencyMs'];

export function checkAgentOptions(o: LocalAgentOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('agent must be an object or true');
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) throw new TypeError(`Unknown option "agent.${k}"`);
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65_535)) {
    throw new TypeError('agent.port must be an integer between 0 and 65535');
  }
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token === '')) {
    throw new TypeError('agent.token must be a non-empty string');
  }
  for (const k of ['ttlMs', 'upstreamLatencyMs'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw new TypeError(`agent.${k} must be a non-negative number`);
  }
  if (o.cacheSize !== undefined && (!Number.isInteger(o.cacheSize) || o.cacheSize < 1)) {
    throw new TypeError('agent.cacheSize must be a positive integer');
  }
}

/** Starts the agent endpoint in front of `service`; `clock` (epoch ms) drives the TTL. */
export async function startLocalAgent(
  service: SecretsService,
  clock: () => number,
  options: LocalAgentOptions = {},
): Promise<LocalAgent> {
  checkAgentOptions(options);
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const cacheSize = options.cacheSize ?? 1000;
  const latency = options.upstreamLatencyMs ?? 0;
  const cache = new Map<string, CacheEntry>();
  let counts = new Map<string, number>();
  const statuses = new Map<number, number>();
  let upstreamDown = false;

  const upstream = async (operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (upstreamDown) throw new HttpError(502, errBody('ConnectionError', 'Read Error'));
    try {
      return (await service.call(operation, input)) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ServiceError) throw new HttpError(err.status, errBody(err.shape, err.message));
      throw new HttpError(500, errBody('InternalFailure', ''));
    }
  };

  const write = (key: string, value: Record<string, unknown>): void => {
    cache.delete(key);
    cache.set(key, { value, writtenAt: clock() });
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  };

  /** lib.rs refresh_secret_value: with a cached (expired) value, DescribeSecret decides whether to re-fetch. */
  const refresh = async (q: Query, key: string, cached: CacheEntry | undefined): Promise<Record<string, unknown>> => {
    if (cached !== undefined && (await isCurrent(q, cached.value))) {
      write(key, cached.value);
      return cached.value;
    }
    let value: Record<string, unknown>;
    try {
      const input: Record<string, unknown> = { SecretId: q.secretId };
      if (q.versionId !== undefined) input.VersionId = q.versionId;
      if (q.versionStage !== undefined) input.VersionStage = q.versionStage;
      value = await upstream('GetSecretValue', input);
    } catch (err) {
      if (cached !== undefined && isTransient(err)) value = cached.value;
      else throw err;
    }
    write(key, value);
    return value;
  };

  const isCurrent = async (q: Query, cached: Record<string, unknown>): Promise<boolean> => {
    let described: Record<string, unknown>;
    try {
      described = await upstream('DescribeSecret', { SecretId: cached.ARN });
    } catch (err) {
      if (isTransient(err)) return true;
      throw err;
    }
    const stages = (described.VersionIdsToStages ?? {}) as Record<string, string[]>;
    if (q.versionId !== undefined && q.versionStage === undefined) return Object.hasOwn(stages, q.versionId);
    const vid = q.versionId ?? (cached.VersionId as string);
    return (stages[vid] ?? []).includes(q.versionStage ?? 'AWSCURRENT');
  };

  const fetch = async (q: Query): Promise<Record<string, unknown>> => {
    const key = JSON.stringify([q.secretId, q.versionId ?? null, q.versionStage ?? null]);
    if (q.refreshNow) return refresh(q, key, undefined);
    const entry = cache.get(key);
    if (entry === undefined) return refresh(q, key, undefined);
    if (clock() - entry.writtenAt > ttlMs) return refresh(q, key, entry);
    return entry.value;
  };

  const answer = async (req: IncomingMessage): Promise<string> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ping') {
      if (req.headers['x-forwarded-for'] !== undefined) throw new HttpError(400, 'Forwarded');
      if (!TOKEN_HEADERS.some((h) => req.headers[h] === token)) throw new HttpError(403, 'Bad Token');
    }
    if (req.method !== 'GET') throw new HttpError(405, 'Not allowed');
    if (url.pathname === '/ping') return 'healthy';
    let q: Query;
    if (url.pathname === '/secretsmanager/get') q = parseQuery(url, undefined);
    else if (url.pathname.startsWith(PATH_PREFIX))
      q = parseQuery(url, rawPath(req.url ?? '').slice(PATH_PREFIX.length));
    else throw new HttpError(404, 'Not found');
    return serialize(await fetch(q));
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    answer(req).then(
      (body) => reply(res, 200, body),
      (err: unknown) => {
        if (err instanceof HttpError) reply(res, err.status, err.body);
        else reply(res, 500, errBody('InternalFailure', ''));
      },
    );
  });
  const reply = (res: ServerResponse, status: number, body: string): void => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    res.writeHead(status, { 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `http://${urlHost}:${port}`,
    port,
    token,
    callCount: (op) => counts.get(op) ?? 0,
    counters: () => Object.fromEntries(counts),
    resetCounters: () => {
      counts = new Map();
    },
    requests: () => Object.fromEntries(statuses),
    setUpstreamDown: (down) => {
      upstreamDown = down;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** parse.rs: known parameters only; refreshNow true|1|false|0 (any case). */
function parseQuery(url: URL, pathSecretId: string | undefined): Query {
  const q: Query = { secretId: pathSecretId ?? '', versionId: undefined, versionStage: undefined, refreshNow: false };
  for (const [k, v] of url.searchParams) {
    if (k === 'secretId' && pathSecretId === undefined) q.secretId = v;
    else if (k === 'versionId') q.versionId = v;
    else if (k === 'versionStage') q.versionStage = v;
    else if (k === 'refreshNow') {
      const b = v.toLowerCase();
      if (b !== 'true' && b !== '1' && b !== 'false' && b !== '0') throw new HttpError(400, 'invalid refreshNow value');
      q.refreshNow = b === 'true' || b === '1';
    } else throw new HttpError(400, `unknown parameter: ${k}`);
  }
  if (q.secretId === '') {
    throw new HttpError(400, pathSecretId === undefined ? 'missing parameter secretId' : 'missing secret ID');
  }
  return q;
}

/** The request path as sent (the agent takes the path-style secret id without percent-decoding). */
function rawPath(requestUrl: string): string {
  const i = requestUrl.indexOf('?');
  return i < 0 ? requestUrl : requestUrl.slice(0, i);
}

/** output.rs: ARN, Name, VersionId, SecretString / SecretBinary (base64), VersionStages, CreatedDate as "secs.frac". */
function serialize(v: Record<string, unknown>): string {
  const out: Record<string, unknown> = { ARN: v.ARN, Name: v.Name, VersionId: v.VersionId };
  if (v.SecretString !== undefined) out.SecretString = v.SecretString;
  if (v.SecretBinary !== undefined) out.SecretBinary = v.SecretBinary;
  if (v.VersionStages !== undefined) out.VersionStages = v.VersionStages;
  out.CreatedDate = typeof v.CreatedDate === 'number' ? String(v.CreatedDate) : null;
  return JSON.stringify(out);
}

/** utils.rs err_response. */
function errBody(code: string, message: string): string {
  if (message === '' || code === 'InternalFailure') return '{"__type":"InternalFailure"}';
  return JSON.stringify({ __type: code, message });
}

/** caching error.rs is_transient_error: timeouts, network errors, HTTP 5xx. */
function isTransient(err: unknown): boolean {
  return err instanceof HttpError && err.status >= 500;
}
