import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CredentialSource } from '@dbcreds/core';

export interface Note {
  id: number;
  author: string;
  body: string;
}

/** The data access of an example app: one implementation per library, over the `notes` table. */
export interface NotesStore {
  list(limit: number): Promise<Note[]>;
  create(note: { author: string; body: string }): Promise<{ id: number }>;
  /** The database user serving the request (`SELECT current_user` / `CURRENT_USER()`). */
  whoami(): Promise<string>;
  /** Closes the pool / ORM. */
  close(): Promise<void>;
}

export interface NotesServerOptions {
  /** Shown by GET /health, e.g. `knex`. */
  library: string;
  store: NotesStore;
  /** The credential source the store uses (GET /health reports its version; never the password). */
  source: CredentialSource;
  /** TCP port; 0 = free port. Default 3000. */
  port?: number;
  /** Interface. Default `127.0.0.1`. */
  host?: string;
}

export interface NotesServer {
  /** e.g. `http://127.0.0.1:3000` */
  readonly url: string;
  /** Stops the HTTP server, then closes the store and the source. Idempotent. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'expected a JSON object');
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new HttpError(400, `${field} must be a string of 1-${max} characters`);
  }
  return value;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** Error code only: driver messages are not echoed to HTTP clients. */
function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; name?: unknown };
  return String(e?.code ?? e?.errno ?? e?.name ?? 'error');
}

/**
 * The example apps' HTTP service (node:http, no framework):
 * - `GET /health` → `{ status, library, dbUser, secret: { versionId, stage, fetches } }`
 * - `GET /notes?limit=N` → `{ notes: [...] }` (newest first, N ≤ 100, default 20)
 * - `POST /notes` `{ author, body }` → 201 `{ id }`
 * Database errors answer 500 (503 on /health) with the driver's error code, never its message.
 */
export async function serveNotes(options: NotesServerOptions): Promise<NotesServer> {
  const { store, source, library } = options;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      switch (route) {
        case 'GET /health': {
          try {
            const dbUser = await store.whoami();
            const s = source.stats();
            send(res, 200, {
              status: 'ok',
              library,
              dbUser,
              secret: { versionId: s.versionId, stage: s.stage, fetches: s.fetches },
            });
          } catch (err) {
            send(res, 503, { status: 'error', library, code: codeOf(err) });
          }
          return;
        }
        case 'GET /notes': {
          const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
          send(res, 200, { notes: await store.list(limit) });
          return;
        }
        case 'POST /notes': {
          const body = await readJson(req);
          const note = { author: text(body.author, 'author', 64), body: text(body.body, 'body', 255) };
          send(res, 201, await store.create(note));
          return;
        }
        default:
          throw new HttpError(404, `no route ${route}`);
      }
    };
    handle().catch((err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, { error: err.message });
      else send(res, 500, { error: 'database error', code: codeOf(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close() {
      closing ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
        source.close();
      })();
      return closing;
    },
  };
}
