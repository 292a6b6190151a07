/**
 * The Secrets Manager Agent / Lambda extension backend: a `SecretsManagerLike` client that maps
 * `GetSecretValueCommand` to `GET <endpoint>/secretsmanager/get?secretId=…&versionStage=…` (plus
 * `refreshNow=true` when fetch.ts asks for it) and answers with the GetSecretValue shape, so the state
 * machine, timeouts, retries and typed errors work unchanged. Agent behaviour (aws/aws-secretsmanager-agent,
 * server.rs / cache_manager.rs): 403 bad or missing token, 400 unknown parameter or X-Forwarded-For,
 * 405 non-GET, 429 connection limit, 502/504 network / timeout towards Secrets Manager; Secrets
 * Manager errors are passed through with their status and `{"__type", "message"}`.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { unknownKeyHint } from '../suggest.js';
import type { SecretsManagerLike } from '../types.js';

export const AGENT_DEFAULT_PORT = 2773;
export const AGENT_TOKEN_HEADER = 'X-Aws-Parameters-Secrets-Token';
/** The agent's own order (config.rs DEFAULT_SSRF_ENV_VARIABLES), then the install script's token file. */
export const AGENT_TOKEN_ENV = ['AWS_TOKEN', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'] as const;
export const AGENT_TOKEN_FILE = '/var/run/awssmatoken';
const MAX_BODY_BYTES = 1_048_576;

export interface ResolvedAgentOptions {
  endpoint: URL;
  /** Explicit token option (may be `file://…`), or undefined: environment / token file. */
  token: string | undefined;
  refreshNow: boolean;
  spreadMs: number;
}

/** Default of `agent.spreadMs`. */
export const AGENT_SPREAD_MS = 200;

const AGENT_KEYS = ['endpoint', 'token', 'refreshNow', 'spreadMs'];

/** Validates the `agent` option; problems are reported through `bad(key, why)`. */
export function resolveAgentOptions(
  value: unknown,
  bad: (key: string, why: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedAgentOptions | undefined {
  if (value === undefined) return undefined;
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    bad('agent', 'must be true or an object { endpoint?, token?, refreshNow?, spreadMs? }');
    return undefined;
  }
  const o = (value === true ? {} : value) as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!AGENT_KEYS.includes(k)) bad(`agent.${k}`, `unknown option${unknownKeyHint(k, AGENT_KEYS)}`);
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
  let endpoint = new URL(`http://localhost:${port && /^\d+$/.test(port) ? port : AGENT_DEFAULT_PORT}`);
  if (o.endpoint !== undefined) {
    const parsed = typeof o.endpoint === 'string' ? safeUrl(o.endpoint) : undefined;
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      bad('agent.endpoint', 'must be an http(s) URL such as http://localhost:2773');
    } else endpoint = parsed;
  }
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) {
    bad('agent.token', 'must be a non-empty string (the SSRF token, or file:///path/to/token)');
  }
  if (o.refreshNow !== undefined && typeof o.refreshNow !== 'boolean') bad('agent.refreshNow', 'must be a boolean');
  const spread = o.spreadMs;
  if (
    spread !== undefined &&
    (typeof spread !== 'number' || !Number.isFinite(spread) || spread < 0 || spread > 60_000)
  ) {
    bad('agent.spreadMs', 'must be a number of ms in 0..60000');
  }
  return {
    endpoint,
    token: o.token as string | undefined,
    refreshNow: (o.refreshNow as boolean | undefined) ?? true,
    spreadMs: (spread as number | undefined) ?? AGENT_SPREAD_MS,
  };
}

function safeUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/** The SSRF token: explicit option, else the agent's environment variables, else the token file. Throws without one. */
export function resolveAgentToken(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const value = explicit ?? AGENT_TOKEN_ENV.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  if (value !== undefined) return value.startsWith('file://') ? readToken(value.slice('file://'.length)) : value;
  try {
    return readToken(AGENT_TOKEN_FILE);
  } catch {
    throw new AgentTokenError(
      `no SSRF token for the Secrets Manager Agent: set agent.token, or one of ${AGENT_TOKEN_ENV.join(', ')}, or make ${AGENT_TOKEN_FILE} readable`,
    );
  }
}

function readToken(path: string): string {
  const t = readFileSync(path, 'utf8').trim();
  if (t === '') throw new AgentTokenError(`the SSRF token file ${path} is empty`);
  return t;
}

/** No usable SSRF token (never carries the token). */
export class AgentTokenError extends Error {
  override readonly name = 'AgentTokenError';
}

/** An HTTP error answer of the agent, shaped like an AWS SDK service error (name, $metadata, $fault). */
export class AgentResponseError extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $fault: 'client' | 'server';

  constructor(status: number, name: string, message: string) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

interface SendOptions {
  abortSignal?: AbortSignal;
  /** Bypass (and reset) the agent's cache for this read. */
  refreshNow?: boolean;
}

/** `SecretsManagerLike` over the agent's HTTP API. `destroy()` closes its keep-alive sockets. */
export class AgentClient implements SecretsManagerLike {
  readonly #o: ResolvedAgentOptions;
  readonly #httpAgent: Agent;
  /** Resolved lazily and again after a 403 (the token file is re-seeded when the agent host restarts). */
  #token: string | undefined;

  constructor(options: ResolvedAgentOptions) {
    this.#o = options;
    const https = options.endpoint.protocol === 'https:';
    this.#httpAgent = https ? new HttpsAgent({ keepAlive: true }) : new Agent({ keepAlive: true });
  }

  async send(command: GetSecretValueCommand, options?: unknown): Promise<GetSecretValueCommandOutput> {
    const { abortSignal, refreshNow } = (options ?? {}) as SendOptions;
    const input = command.input;
    const url = new URL('/secretsmanager/get', this.#o.endpoint);
    url.searchParams.set('secretId', String(input.SecretId));
    if (input.VersionId !== undefined) url.searchParams.set('versionId', input.VersionId);
    if (input.VersionStage !== undefined) url.searchParams.set('versionStage', input.VersionStage);
    if (refreshNow) url.searchParams.set('refreshNow', 'true');
    this.#token ??= resolveAgentToken(this.#o.token);
    const { status, body } = await this.#get(url, this.#token, abortSignal);
    if (status === 200) return parseOutput(body);
    if (status === 403) this.#token = undefined;
    throw errorFor(status, body);
  }

  destroy(): void {
    this.#httpAgent.destroy();
  }

  toString(): string {
    return `AgentClient(${this.#o.endpoint.origin})`;
  }

  #get(url: URL, token: string, signal: AbortSignal | undefined): Promise<{ status: number; body: string }> {
    const send = url.protocol === 'https:' ? httpsRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'GET',
        agent: this.#httpAgent,
        headers: { [AGENT_TOKEN_HEADER]: token },
        signal,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES)
            req.destroy(new AgentResponseError(502, 'ConnectionError', 'agent answer too large'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end();
    });
  }
}

function parseOutput(body: string): GetSecretValueCommandOutput {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(body) as Record<string, unknown>;
  } catch {
    // Never quote the body: it is the secret.
    throw new AgentResponseError(502, 'ConnectionError', 'the agent answered 200 with a body that is not JSON');
  }
  const created = o.CreatedDate;
  const createdSecs =
    typeof created === 'number' ? created : typeof created === 'string' ? Number(created) : Number.NaN;
  const out: Record<string, unknown> = {
    $metadata: { httpStatusCode: 200 },
    ARN: o.ARN,
    Name: o.Name,
    VersionId: o.VersionId,
    VersionStages: o.VersionStages,
  };
  if (Number.isFinite(createdSecs)) out.CreatedDate = new Date(createdSecs * 1000);
  if (typeof o.SecretString === 'string') out.SecretString = o.SecretString;
  if (typeof o.SecretBinary === 'string') out.SecretBinary = Buffer.from(o.SecretBinary, 'base64');
  return out as unknown as GetSecretValueCommandOutput;
}

const AGENT_STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'AgentBadRequest',
  403: 'AgentForbidden',
  404: 'AgentNotFound',
  405: 'AgentMethodNotAllowed',
  429: 'ThrottlingException',
};

/** Secrets Manager errors come through as `{"__type": …, "message": …}`; the agent's own ones are plain text. */
function errorFor(status: number, body: string): AgentResponseError {
  let name: string | undefined;
  let message: string | undefined;
  try {
    const o = JSON.parse(body) as Record<string, unknown>;
    if (typeof o.__type === 'string') name = o.__type.split('#').pop();
    const m = o.message ?? o.Message;
    if (typeof m === 'string') message = m;
  } catch {
    // plain-text agent answer, e.g. "Bad Token", "Forwarded", "unknown parameter: x"
  }
  name ??= AGENT_STATUS_NAMES[status] ?? (status >= 500 ? 'AgentServerError' : 'AgentError');
  const text = message ?? (body.length <= 200 ? body : `${body.slice(0, 200)}…`);
  const hint = status === 403 ? ' (SSRF token refused: check agent.token / AWS_TOKEN)' : '';
  return new AgentResponseError(status, name, `Secrets Manager Agent answered HTTP ${status}${hint}: ${text}`);
}
