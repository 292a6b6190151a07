/**
 * A TCP listener that only counts connections: given as the port of a server that must never be
 * contacted, it proves no client tried (a driver defaulting to localhost would land here).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ConnectionWitness {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Proves the witness sees a client that defaults to `localhost` (IPv4 or IPv6): connects once itself (counted). */
  selfCheck(): Promise<void>;
  close(): Promise<void>;
}

/** Listens on every local address (dual stack when available) so `localhost` reaches it however it resolves. */
export async function startConnectionWitness(): Promise<ConnectionWitness> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy(); // no protocol: a driver that got here fails at once instead of waiting
  });
  const listen = (host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen('::').catch(() => listen('0.0.0.0'));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get connections() {
      return connections;
    },
    async selfCheck() {
      const before = connections;
      await new Promise<void>((resolve, reject) => {
        const s = connect({ host: 'localhost', port }, () => s.end());
        s.on('close', () => resolve());
        s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve() : reject(err)));
      });
      const deadline = Date.now() + 5_000;
      while (connections === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (connections !== before + 1) throw new Error('witness: a connection to localhost did not reach it');
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
