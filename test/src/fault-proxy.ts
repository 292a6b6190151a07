/**
 * A fault-injecting proxy on 127.0.0.1: real sockets in front of a real server (the local Secrets
 * Manager, PostgreSQL, MariaDB), with the fault switched at run time.
 *
 * - `protocol: 'tcp'` (databases): a plain TCP relay. Modes: pass, latency (connect to the target
 *   only after `latencyMs`), blackhole (accept, never answer), refuse (listener closed: ECONNREFUSED;
 *   open sockets destroyed), reset (relay the server's first chunk, then RST).
 * - `protocol: 'http'` (Secrets Manager, AWS JSON 1.1): every request is seen and counted. Modes: the
 *   TCP ones, plus http500 (InternalServiceError), throttle (ThrottlingException, 400), truncate
 *   (the real response's headers and half its body, then FIN), garbage (200 with a non-JSON body);
 *   reset sends the real response's headers and half its body, then RST; latency delays the real answer.
 */
import http from 'node:http';
import net from 'node:net';

export type FaultMode =
  | 'pass'
  | 'latency'
  | 'blackhole'
  | 'refuse'
  | 'reset'
  | 'http500'
  | 'throttle'
  | 'truncate'
  | 'garbage';

/** Modes that need the HTTP-aware proxy. */
export const HTTP_ONLY_MODES: readonly FaultMode[] = ['http500', 'throttle', 'truncate', 'garbage'];

export interface FaultProxyOptions {
  /** `host:port`, `http://host:port` or `{ host, port }` of the real server. */
  target: string | { host: string; port: number };
  /** Default `'http'`. */
  protocol?: 'http' | 'tcp';
  /** Initial mode (default `'pass'`). */
  mode?: FaultMode;
  /** Delay of the `latency` mode in ms (default 10_000). */
  latencyMs?: number;
}

export interface ProxiedRequest {
  /** Sequence number, from 1. */
  n: number;
  /** The mode the request (HTTP) or connection (TCP) met. */
  mode: FaultMode;
  /** HTTP: the `X-Amz-Target` header, e.g. `secretsmanager.GetSecretValue`. */
  target?: string;
}

export interface FaultProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `http://127.0.0.1:<port>` (an SDK `endpoint`). */
  readonly endpoint: string;
  readonly mode: FaultMode;
  /** Switches the fault for requests/connections from now on (`refuse` closes the listener, leaving it reopens it). */
  setMode(mode: FaultMode, opts?: { latencyMs?: number }): Promise<void>;
  /** HTTP requests (http) or connections (tcp) seen so far, per mode met. */
  readonly counts: Readonly<Record<FaultMode, number>>;
  /** Total requests (http) or connections (tcp) seen. */
  readonly total: number;
  /**
   * TCP: local ports of the relay's connections to the server. A database session whose client port
   * (`SESSION_SQL`) is in this set came through the proxy, e.g. a replication node in front of the server.
   */
  readonly upstreamPorts: ReadonlySet<number>;
  /** Calls `hook` for every request/connection; returns the unsubscribe function. */
  onRequest(hook: (r: ProxiedRequest) => void): () => void;
  /** Destroys every socket and stops listening (idempotent). */
  close(): Promise<void>;
}

const AWS_JSON = 'application/x-amz-json-1.1';

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const proxy = new Proxy_(opts);
  await proxy.listen(0);
  return proxy;
}

function parseTarget(t: FaultProxyOptions['target']): { host: string; port: number } {
  if (typeof t !== 'string') return t;
  const u = new URL(t.includes('://') ? t : `tcp://${t}`);
  return { host: u.hostname, port: Number(u.port) };
}

function emptyCounts(): Record<FaultMode, number> {
  return {
    pass: 0,
    latency: 0,
    blackhole: 0,
    refuse: 0,
    reset: 0,
    http500: 0,
    throttle: 0,
    truncate: 0,
    garbage: 0,
  };
}

class Proxy_ implements FaultProxy {
  readonly host = '127.0.0.1' as const;
  port = 0;
  mode: FaultMode;
  readonly counts = emptyCounts();
  total = 0;
  readonly upstreamPorts = new Set<number>();
  readonly #target: { host: string; port: number };
  readonly #protocol: 'http' | 'tcp';
  #latencyMs: number;
  readonly #hooks = new Set<(r: ProxiedRequest) => void>();
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #upstreamAgent = new http.Agent({ keepAlive: true });
  #server: net.Server | undefined;
  #closed = false;

  constructor(opts: FaultProxyOptions) {
    this.#target = parseTarget(opts.target);
    this.#protocol = opts.protocol ?? 'http';
    this.mode = opts.mode ?? 'pass';
    this.#latencyMs = opts.latencyMs ?? 10_000;
    if (this.#protocol === 'tcp' && HTTP_ONLY_MODES.includes(this.mode)) {
      throw new Error(`fault proxy: mode ${this.mode} needs protocol 'http'`);
    }
  }

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  async setMode(mode: FaultMode, opts: { latencyMs?: number } = {}): Promise<void> {
    if (this.#protocol === 'tcp' && HTTP_ONLY_MODES.includes(mode)) {
      throw new Error(`fault proxy: mode ${mode} needs protocol 'http'`);
    }
    if (opts.latencyMs !== undefined) this.#latencyMs = opts.latencyMs;
    const was = this.mode;
    this.mode = mode;
    if (mode === 'refuse' && was !== 'refuse') {
      const stopped = this.#stopListening(); // resolves once every connection is gone
      for (const s of this.#sockets) s.destroy();
      await stopped;
    } else if (was === 'refuse' && mode !== 'refuse') {
      await this.listen(this.port);
    }
  }

  onRequest(hook: (r: ProxiedRequest) => void): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  async listen(port: number): Promise<void> {
    const server = this.#protocol === 'http' ? this.#httpServer() : net.createServer((s) => this.#onTcp(s));
    server.on('connection', (s: net.Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => {});
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    const stopped = this.#stopListening();
    for (const s of this.#sockets) s.destroy();
    this.#upstreamAgent.destroy();
    await stopped;
  }

  #stopListening(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  #seen(target?: string): FaultMode {
    const mode = this.mode;
    this.counts[mode]++;
    this.total++;
    const r: ProxiedRequest = { n: this.total, mode, ...(target !== undefined && { target }) };
    for (const h of this.#hooks) h(r);
    return mode;
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  // ---- TCP --------------------------------------------------------------------------------

  #onTcp(client: net.Socket): void {
    const mode = this.#seen();
    if (mode === 'blackhole') {
      client.resume(); // accepted; read and dropped (so the peer's close is seen), never a byte back
      return;
    }
    if (mode === 'latency') this.#later(this.#latencyMs, () => this.#relay(client, false));
    else this.#relay(client, mode === 'reset');
  }

  #relay(client: net.Socket, resetAfterFirstChunk: boolean): void {
    if (client.destroyed) return;
    const upstream = net.connect(this.#target.port, this.#target.host, () => {
      if (upstream.localPort !== undefined) this.upstreamPorts.add(upstream.localPort);
    });
    this.#sockets.add(upstream);
    upstream.on('close', () => {
      this.#sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    if (resetAfterFirstChunk) {
      upstream.once('data', (chunk: Buffer) => {
        client.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => client.resetAndDestroy());
        upstream.destroy();
      });
      client.pipe(upstream);
      return;
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  // ---- HTTP (AWS JSON 1.1) ------------------------------------------------------------------

  #httpServer(): http.Server {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = req.headers['x-amz-target'];
        const mode = this.#seen(typeof target === 'string' ? target : undefined);
        this.#answer(mode, req, res, Buffer.concat(chunks));
      });
    });
    server.keepAliveTimeout = 60_000;
    return server;
  }

  #answer(mode: FaultMode, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    switch (mode) {
      case 'blackhole':
        return; // never answers (the socket stays open until the client gives up)
      case 'refuse': // a connection that was already open when the listener closed
        req.socket.resetAndDestroy();
        return;
      case 'http500':
        awsError(res, 500, 'InternalServiceError', 'fault proxy: injected 500');
        return;
      case 'throttle':
        awsError(res, 400, 'ThrottlingException', 'Rate exceeded');
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': AWS_JSON });
        res.end('<html><body>502 Bad Gateway (fault proxy: not JSON)</body></html>');
        return;
      case 'latency':
        this.#later(this.#latencyMs, () => this.#forward(req, res, body, 'pass'));
        return;
      default:
        this.#forward(req, res, body, mode);
    }
  }

  /** Sends the request to the real server; `reset`/`truncate` cut its answer halfway. */
  #forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, mode: FaultMode): void {
    if (req.socket.destroyed) return;
    const up = http.request(
      {
        host: this.#target.host,
        port: this.#target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `${this.#target.host}:${this.#target.port}` },
        agent: this.#upstreamAgent,
      },
      (upRes) => {
        const parts: Buffer[] = [];
        upRes.on('data', (c: Buffer) => parts.push(c));
        upRes.on('end', () => {
          const full = Buffer.concat(parts);
          const headers = { ...upRes.headers, 'content-length': String(full.length) };
          delete headers['transfer-encoding'];
          res.writeHead(upRes.statusCode ?? 502, headers);
          if (mode === 'reset' || mode === 'truncate') {
            res.write(full.subarray(0, full.length >> 1), () => {
              if (mode === 'reset') req.socket.resetAndDestroy();
              else req.socket.end();
            });
            return;
          }
          res.end(full);
        });
      },
    );
    up.on('error', () => req.socket.destroy());
    up.end(body);
  }
}

function awsError(res: http.ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(status, {
    'content-type': AWS_JSON,
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-errortype': type,
    'x-amzn-requestid': `fault-${Date.now()}`,
  });
  res.end(body);
}

/** SQL returning the current user as `u` and the session's client port as `p` (compare with `upstreamPorts`). */
export const SESSION_SQL = {
  postgres: 'SELECT current_user AS u, inet_client_port() AS p',
  mysql:
    "SELECT CURRENT_USER() AS u, SUBSTRING_INDEX(host, ':', -1) AS p FROM information_schema.processlist WHERE id = CONNECTION_ID()",
} as const;
