import { createConnection, createServer, type Socket } from 'node:net';

/** A TCP forwarder on a free loopback port: a second "node" (e.g. a reader endpoint) in front of a test server. */
export interface TcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /**
   * Local ports of the proxy's connections to the server: a session whose client port
   * (PostgreSQL `inet_client_port()`, MariaDB `information_schema.processlist.host`) is in this
   * set came through the proxy.
   */
  readonly upstreamPorts: ReadonlySet<number>;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (loopback only). Sockets end together; `close()` destroys all of them. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const upstreamPorts = new Set<number>();
  let connections = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = createServer((client) => {
    connections++;
    track(client);
    client.pause();
    const upstream = createConnection({ host: target.host, port: target.port }, () => {
      if (upstream.localPort !== undefined) upstreamPorts.add(upstream.localPort);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy: no TCP address');
  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return connections;
    },
    upstreamPorts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** SQL returning the current user as `u` and the session's client port as `p` (compare with `upstreamPorts`). */
export const SESSION_SQL = {
  postgres: 'SELECT current_user AS u, inet_client_port() AS p',
  mysql:
    "SELECT CURRENT_USER() AS u, SUBSTRING_INDEX(host, ':', -1) AS p FROM information_schema.processlist WHERE id = CONNECTION_ID()",
} as const;
