import { type CredentialSource, createCredentialSource } from '@dbcreds/core';
import { engineFamily } from '@dbcreds/core/adapter';
import { LIBRARIES } from '../libraries/catalog.js';
import { type LocalStack, startLocalStack } from '../stack/local-stack.js';
import type { StackEngine } from '../stack/types.js';
import { type NotesServer, type NotesStore, serveNotes } from './serve.js';

export interface RunExampleOptions {
  /** Library name shown by GET /health and the start-up lines. */
  library: string;
  /** Builds the store with the library's rotating-credentials hook; `engine` comes from the secret. */
  createStore(source: CredentialSource, engine: StackEngine): Promise<NotesStore>;
  /**
   * Engines the example supports (the first is used for `--local`). Default: the catalog entry's of `library`
   * (src/libraries), else `['postgres', 'mysql']`.
   */
  engines?: StackEngine[];
  /** Default `process.argv.slice(2)`. */
  argv?: string[];
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Entry point of the example apps.
 * - Against AWS: `DBCREDS_SECRET_ID` (+ the usual AWS_REGION / credentials chain) and optionally
 *   `PORT` (default 3000), `HOST` (default 127.0.0.1; `0.0.0.0` in a container).
 * - A mounted secret (EKS, Secrets Store CSI driver): `DBCREDS_SECRET_FILE` instead, optionally
 *   `DBCREDS_SECRET_PENDING_FILE` (AWSPENDING) and `DBCREDS_AWAIT_ROTATION_MS` (above the mount's lag).
 *   `AWS_ENDPOINT_URL_SECRETS_MANAGER` points the SDK elsewhere.
 * - `--local`: first starts the local stack (embedded PostgreSQL, or MariaDB with
 *   `DBCREDS_ENGINE=mysql`; local Secrets Manager; secret; rotation functions), exports its env and
 *   configures single-user rotation every `DBCREDS_ROTATE_EVERY` seconds (default 3600: use
 *   `dbcreds rotate` to rotate now).
 * Stops cleanly on SIGINT/SIGTERM.
 */
export async function runExample(options: RunExampleOptions): Promise<NotesServer> {
  const argv = options.argv ?? process.argv.slice(2);
  const engines = options.engines ?? [
    ...(LIBRARIES.find((l) => l.name === options.library)?.engines ?? ['postgres', 'mysql']),
  ];
  let stack: LocalStack | undefined;
  if (argv.includes('--local')) {
    const wanted = (process.env.DBCREDS_ENGINE as StackEngine | undefined) ?? engines[0]!;
    if (!engines.includes(wanted)) throw new Error(`${options.library} example supports ${engines.join(', ')} only`);
    log(
      `starting the local stack (${wanted === 'postgres' ? 'embedded PostgreSQL' : 'MariaDB/MySQL'}, local Secrets Manager)...`,
    );
    stack = await startLocalStack({ engine: wanted, name: 'dbcreds_example' });
    Object.assign(process.env, stack.env);
    const every = Number(process.env.DBCREDS_ROTATE_EVERY ?? 3600);
    await stack.schedule('single-user', every);
    log(
      `secret ${stack.secretId} on ${stack.endpoint}; single-user rotation every ${every}s. Rotate now (from the repository root):`,
    );
    log(`  npm run dbcreds -- rotate --secret-id ${stack.secretId} --endpoint ${stack.endpoint}`);
  }
  const {
    DBCREDS_SECRET_ID: secretId,
    DBCREDS_SECRET_FILE: path,
    DBCREDS_SECRET_PENDING_FILE: pendingFile,
  } = process.env;
  if (!secretId && !path) {
    await stack?.close();
    throw new Error(
      'set DBCREDS_SECRET_ID (and AWS_REGION), or DBCREDS_SECRET_FILE (a mounted secret), or pass --local',
    );
  }
  const awaitMs = process.env.DBCREDS_AWAIT_ROTATION_MS;
  // Region, endpoint and credentials come from the standard AWS environment / config chain.
  const source = createCredentialSource({
    ...(path ? { file: { path, ...(pendingFile ? { pendingFile } : {}) } } : { secretId: secretId! }),
    ...(awaitMs ? { awaitRotationMs: Number(awaitMs) } : {}),
  });
  let server: NotesServer | undefined;
  try {
    const engine = engineFamily((await source.get()).engine) ?? 'postgres';
    const store = await options.createStore(source, engine);
    server = await serveNotes({
      library: options.library,
      store,
      source,
      port: Number(process.env.PORT ?? 3000),
      // Loopback unless told otherwise (a container sets HOST=0.0.0.0).
      ...(process.env.HOST ? { host: process.env.HOST } : {}),
    });
  } catch (err) {
    source.close();
    await stack?.close();
    throw err;
  }
  const running = server;
  log(`${options.library} notes service on ${running.url} (GET /health, GET /notes, POST /notes)`);
  log(`  curl -s ${running.url}/health; curl -s -XPOST ${running.url}/notes -d '{"author":"me","body":"hi"}'`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await running.close();
    await stack?.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  return { url: running.url, close: stop };
}
