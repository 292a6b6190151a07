import { createCredentialSource } from '@dbcreds/core';
import { serverFor } from '@dbcreds/testbed';
import { type LocalStack, type NotesServer, rotationSmoke, serveNotes, startLocalStack } from 'dbcreds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotesStore } from '../src/notes.js';

describe.each(['postgres', 'mysql'] as const)('prisma example on %s', (engine) => {
  let stack: LocalStack;
  let app: NotesServer;
  beforeAll(async () => {
    stack = await startLocalStack({ server: serverFor(engine), name: 'dbcex_prisma' });
    const source = createCredentialSource({ secretId: stack.secretId, clientConfig: stack.clientConfig });
    app = await serveNotes({ library: 'prisma', store: createNotesStore(source, engine), source, port: 0 });
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
