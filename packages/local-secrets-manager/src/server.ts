import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkAgentOptions, type LocalAgent, startLocalAgent } from './agent.js';
import { ServiceError } from './errors.js';
import { registerOperations } from './operations/index.js';
import { Replication } from './replication.js';
import { RotationEngine } from './rotation.js';
import { SecretsService } from './service.js';
import { checkSignatureDate } from './signature-date.js';
import { SecretStore } from './store.js';
import type { LocalSecretsManager, LocalSecretsManagerOptions, RotationStats } from './types.js';

const OPTION_KEYS = new Set<string>([
  'host',
  'port',
  'stateFile',
  'region',
  'accountId',
  'clock',
  'signatureClock',
  'allowShortRotationIntervals',
  'rotationMode',
  'rotationStepTimeoutMs',
  'schedulerIntervalMs',
  'maxBodyBytes',
  'agent',
  'regions',
  'replicationLagMs',
]);

const TARGET_PREFIX = 'secretsmanager.';
/**
 * Not an AWS operation: the last failed rotation of a secret, so a client (`dbcreds rotate`) can report
 * the failing step and error at once instead of waiting for a timeout. AWS answers it UnknownOperation.
 */
export const LAST_ROTATION_ERROR_TARGET = 'LocalSecretsManager.GetLastRotationError';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * Starts an AWS Secrets Manager emulator (JSON 1.1 protocol) on `host:port`.
 * Development only: request signatures are accepted without verification.
 */
export async function startLocalSecretsManager(options: LocalSecretsManagerOptions = {}): Promise<LocalSecretsManager> {
  const opts = checkOptions(options);
  const host = opts.host ?? '127.0.0.1';
  const clock = opts.clock ?? Date.now;
  const signatureClock = opts.signatureClock ?? Date.now;
  const maxBodyBytes = opts.maxBodyBytes ?? 1_048_576;
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '000000000000';
  const rotationOptions = {
    allowShortRotationIntervals: opts.allowShortRotationIntervals ?? false,
    mode: opts.rotationMode ?? 'sync',
    stepTimeoutMs: opts.rotationStepTimeoutMs ?? 30_000,
  } as const;
  // One service (store, operations, rotation) per region; a request goes to the region of its SigV4 scope.
  const regionNames = [region, ...(opts.regions ?? []).filter((r) => r !== region)];
  const services = new Map<string, SecretsService>();
  const engines = new Map<string, RotationEngine>();
  for (const name of regionNames) {
    const stateFile = name === region ? opts.stateFile : undefined;
    const s = new SecretsService({ store: new SecretStore(stateFile), region: name, accountId, clock });
    registerOperations(s, s);
    engines.set(name, new RotationEngine(s, rotationOptions));
    services.set(name, s);
  }
  const service = services.get(region)!;
  const rotation = engines.get(region)!;
  const replication = new Replication(services, opts.replicationLagMs ?? 0);
  const allEngines = [...engines.values()];
  /** Requests per region, then per operation. */
  let counts = new Map<string, Map<string, number>>();
  const count = (name: string, operation: string): void => {
    const m = counts.get(name) ?? new Map<string, number>();
    counts.set(name, m);
    m.set(operation, (m.get(operation) ?? 0) + 1);
  };
  const countOf = (operation: string, name?: string): number => {
    let n = 0;
    for (const [r, m] of counts) if (name === undefined || r === name) n += m.get(operation) ?? 0;
    return n;
  };
  const countersOf = (name?: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [r, m] of counts) {
      if (name !== undefined && r !== name) continue;
      for (const [op, n] of m) out[op] = (out[op] ?? 0) + n;
    }
    return out;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Last resort: never let a bug crash the process or leave the request hanging.
      sendError(res, new ServiceError('InternalServiceError', 'Internal error.', 500, { cause: err }));
    });
  });
  // Idle keep-alive sockets stay open for a minute, as AWS endpoints keep them: the AWS SDK pools sockets without
  // an idle timeout of its own, so a shorter server timeout races a client's next request on the same socket
  // (ECONNRESET, seen with 5 s after a test's 5 s pause, fatal for clients with maxAttempts 1).
  server.keepAliveTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The server's clock, from which the AWS SDK corrects a skewed client clock.
    const now = signatureClock();
    res.setHeader('date', new Date(now).toUTCString());
    if (req.method !== 'POST') {
      req.resume();
      return sendError(res, new ServiceError('UnknownOperationException', 'Only POST / is supported.', 404));
    }
    const target = header(req, 'x-amz-target');
    const operation = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    // A region this endpoint does not serve (or an unsigned request) goes to the default region, as before regions.
    const signed = signingRegion(header(req, 'authorization'));
    const regionName = signed !== undefined && services.has(signed) ? signed : region;
    const service = services.get(regionName)!;
    if (operation && service.has(operation)) count(regionName, operation);
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof ServiceError) {
        res.setHeader('connection', 'close');
        return sendError(res, err);
      }
      throw err;
    }
    try {
      checkSignatureDate(header(req, 'x-amz-date'), now);
      if (target === LAST_ROTATION_ERROR_TARGET)
        return send(res, 200, lastRotationError(service, engines.get(regionName)!, parseJson(body)));
      if (!operation || !service.has(operation)) {
        throw new ServiceError(
          'UnknownOperationException',
          target ? `Unknown operation ${target}.` : 'Missing X-Amz-Target header (secretsmanager.<Operation>).',
        );
      }
      const input = parseJson(body);
      const output = await service.call(operation, input);
      send(res, 200, output ?? {});
    } catch (err) {
      if (err instanceof ServiceError) return sendError(res, err);
      throw err;
    }
  }

  /** `{ SecretId }` → `{ Failure?: { Step, Message, VersionId, At } }` (At in epoch seconds, like AWS dates). */
  function lastRotationError(
    service: SecretsService,
    rotation: RotationEngine,
    input: Record<string, unknown>,
  ): unknown {
    const secretId = input.SecretId;
    if (typeof secretId !== 'string' || !service.store.find(secretId)) {
      throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    const failure = rotation.lastError(secretId);
    if (!failure) return {};
    const { step, message, versionId, at } = failure;
    return { Failure: { Step: step, Message: message, VersionId: versionId, At: at / 1000 } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node's default accept backlog (511) overflowed under bursts of new connections on a loaded host
    // (ECONNRESET in the 2,000-connection test); the kernel caps this at net.core.somaxconn.
    server.listen({ port: opts.port ?? 0, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let agent: LocalAgent | undefined;
  if (opts.agent !== undefined && opts.agent !== false) {
    try {
      agent = await startLocalAgent(service, clock, opts.agent === true ? {} : opts.agent);
    } catch (err) {
      await closeServer(server);
      throw err;
    }
  }
  for (const engine of allEngines) engine.startScheduler(opts.schedulerIntervalMs ?? 1000);
  const engineOf = (secretId: string): RotationEngine | undefined => {
    for (const [name, s] of services) if (s.store.find(secretId)) return engines.get(name);
    return undefined;
  };

  return {
    endpoint: `http://${urlHost}:${port}`,
    host,
    port,
    region,
    regions: regionNames,
    accountId,
    callCount: countOf,
    counters: countersOf,
    setReplicationLag: (ms) => replication.setLag(ms),
    flushReplication: () => replication.flush(),
    resetCounters: () => {
      counts = new Map();
      agent?.resetCounters();
    },
    agent,
    registerRotator: (arn, handler) => {
      for (const engine of allEngines) engine.register(arn, handler);
    },
    runDueRotations: async () => (await Promise.all(allEngines.map((e) => e.runDue()))).flat(),
    idle: async () => {
      await Promise.all(allEngines.map((e) => e.idle()));
    },
    lastRotationError: (secretId) => (engineOf(secretId) ?? rotation).lastError(secretId),
    rotationStats: () => sumStats(allEngines.map((e) => e.stats())),
    createRdsManagedSecret: (o) => rotation.managed.create(o),
    setManagedRotation: (secretId, o) => rotation.managed.setRotation(secretId, o),
    rotateManagedSecret: async (secretId) => {
      const secret = service.secret(secretId);
      if (secret.owningService === undefined) {
        throw new TypeError(`rotateManagedSecret: ${secret.name} is not a managed secret; call RotateSecret for it.`);
      }
      await service.call('RotateSecret', { SecretId: secret.arn, ClientRequestToken: randomUUID() });
      await rotation.idle();
      return rotation.lastError(secret.arn);
    },
    close: async () => {
      for (const engine of allEngines) engine.stopScheduler();
      replication.close();
      await Promise.all([closeServer(server), agent?.close()]);
      await Promise.all(allEngines.map((e) => e.idle()));
    },
  };
}

function checkOptions(options: LocalSecretsManagerOptions): LocalSecretsManagerOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`Unknown option "${key}" for startLocalSecretsManager`);
  }
  const { port, rotationMode, clock } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new TypeError('port must be an integer between 0 and 65535');
  }
  if (rotationMode !== undefined && rotationMode !== 'sync' && rotationMode !== 'async') {
    throw new TypeError("rotationMode must be 'sync' or 'async'");
  }
  if (clock !== undefined && typeof clock !== 'function')
    throw new TypeError('clock must be a function returning epoch ms');
  if (options.signatureClock !== undefined && typeof options.signatureClock !== 'function')
    throw new TypeError('signatureClock must be a function returning epoch ms');
  for (const key of ['rotationStepTimeoutMs', 'schedulerIntervalMs', 'maxBodyBytes'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new TypeError(`${key} must be a non-negative number`);
  }
  if (options.agent !== undefined && options.agent !== true && options.agent !== false)
    checkAgentOptions(options.agent);
  const { regions, replicationLagMs } = options;
  if (regions !== undefined && (!Array.isArray(regions) || !regions.every((r) => /^([a-z]+-)+\d+$/.test(r))))
    throw new TypeError('regions must be an array of region names like "us-west-2"');
  if (regions !== undefined && regions.length > 0 && options.stateFile !== undefined)
    throw new TypeError('stateFile keeps one region: give stateFile or regions, not both');
  if (replicationLagMs !== undefined && (!Number.isFinite(replicationLagMs) || replicationLagMs < 0))
    throw new TypeError('replicationLagMs must be a non-negative number (ms)');
  if (options.accountId !== undefined && !/^\d{12}$/.test(options.accountId)) {
    throw new TypeError('accountId must be 12 digits');
  }
  return options;
}

/** The region of a SigV4 `Authorization` header's credential scope (`Credential=AKID/date/REGION/service/aws4_request`). */
export function signingRegion(authorization: string | undefined): string | undefined {
  const m = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\//.exec(authorization ?? '');
  return m?.[1];
}

function sumStats(all: RotationStats[]): RotationStats {
  const out: RotationStats = {
    started: 0,
    succeeded: 0,
    failed: 0,
    steps: { createSecret: 0, setSecret: 0, testSecret: 0, finishSecret: 0 },
  };
  for (const s of all) {
    out.started += s.started;
    out.succeeded += s.succeeded;
    out.failed += s.failed;
    for (const step of Object.keys(out.steps) as Array<keyof RotationStats['steps']>) out.steps[step] += s.steps[step];
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(header(req, 'content-length'));
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(tooLarge(limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return; // keep draining (resume) so the client can read the answer
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(new ServiceError('SerializationException', 'Could not read the request body.', 400, { cause: err }));
      }
    });
  });
}

function tooLarge(limit: number): ServiceError {
  return new ServiceError('RequestEntityTooLargeException', `Request body exceeds ${limit} bytes.`, 413);
}

function parseJson(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServiceError('SerializationException', 'The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ServiceError('SerializationException', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(payload);
}

function sendError(res: ServerResponse, err: ServiceError): void {
  send(res, err.status, { __type: err.shape, Message: err.message });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Give in-flight answers a moment, then cut the rest (e.g. a client holding a keep-alive socket).
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  });
}
