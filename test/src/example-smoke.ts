import { type CredentialSource, createCredentialSource } from '@dbcreds/core';
import {
  type LocalStack,
  type NotesServer,
  LIBRARIES,
  type NotesStore,
  rotationSmoke,
  serveNotes,
  startLocalStack,
} from 'dbcreds/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type EngineName, serverFor } from './servers.js';

export interface ExampleSmokeOptions {
  /** Library name, as the example passes it to `runExample` (titles, GET /health, stack name). */
  library: string;
  /** The example's store factory (`createNotesStore` from its src/notes.ts), served by `serveNotes`. */
  createStore?(source: CredentialSource, engine: EngineName): NotesStore | Promise<NotesStore>;
  /**
   * Instead of `createStore`: starts the example app itself against the stack (e.g. its build in a
   * child process, with `stack.env`) and returns its URL and a `close()`.
   */
  serve?(stack: LocalStack, engine: EngineName): Promise<NotesServer>;
  /** Engines the example supports. Default: the catalog entry's of `library` (dbcreds/testing), else `ENGINES`. */
  engines?: readonly EngineName[];
}

/**
 * One example app's smoke test, per engine: local stack (secret + rotation functions on the test
 * server) → the notes service on a free port → `rotationSmoke` (single-user rotation proving the old
 * password is refused, then two alternating-users rotations), asserting every write survived, the
 * first user seen and at most 4 GetSecretValue calls by the app (AWSCURRENT + AWSPENDING per rotation that bit).
 */
export function describeExampleSmoke({
  library,
  createStore,
  serve,
  engines = LIBRARIES.find((l) => l.name === library)?.engines ?? ENGINES,
}: ExampleSmokeOptions): void {
  describe.each([...engines])(`${library} example on %s`, (engine) => {
    let stack: LocalStack;
    let app: NotesServer;
    beforeAll(async () => {
      stack = await startLocalStack({ server: serverFor(engine), name: `dbcex_${library.replace(/[^a-z0-9]/g, '')}` });
      if (serve) {
        app = await serve(stack, engine);
        return;
      }
      if (!createStore) throw new Error('describeExampleSmoke: pass createStore or serve');
      const source = createCredentialSource({ secretId: stack.secretId, clientConfig: stack.clientConfig });
      app = await serveNotes({ library, store: await createStore(source, engine), source, port: 0 });
    });
    afterAll(async () => {
      await app?.close();
      await stack?.close();
    });

    it('serves reads and writes across single-user and alternating-users rotations', async () => {
      const report = await rotationSmoke(app.url, stack);
      expect(report.bodies).toEqual(['after alternating-users', 'after single-user', 'before']);
      expect(report.usersSeen[0]).toContain(stack.usernames[0]);
      expect(report.appFetches).toBeLessThanOrEqual(4); // two rotations bit: at most AWSCURRENT + AWSPENDING each
    });
  });
}
