import { createCredentialSource } from '@dbcreds/core';
import { serverFor } from '@dbcreds/testbed';
import { type LocalStack, type NotesServer, serveNotes, startLocalStack } from 'dbcreds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotesStore } from '../src/notes.js';

describe.each(['postgres', 'mysql'] as const)('knex example on %s', (engine) => {
  let stack: LocalStack;
  let app: NotesServer;
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`${app.url}${path}`, body ? { method: 'POST', body: JSON.stringify(body) } : {});
    return { status: res.status, json: (await res.json()) as any };
  };

  beforeAll(async () => {
    stack = await startLocalStack({ server: serverFor(engine), name: 'dbcex_knex' });
    const source = createCredentialSource({ secretId: stack.secretId, clientConfig: stack.clientConfig });
    app = await serveNotes({ library: 'knex', store: createNotesStore(source, engine), source, port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  it('serves reads and writes across single-user and alternating-users rotations', async () => {
    // Prepare: the app works and holds the first version
    expect((await call('/notes', { author: 'ann', body: 'before' })).status).toBe(201);
    const before = await call('/health');
    expect(before.json).toMatchObject({ status: 'ok', library: 'knex', secret: { stage: 'AWSCURRENT' } });
    expect(before.json.dbUser).toContain(stack.usernames[0]);

    // Act: single-user rotation; the server now rejects the password the app holds
    await stack.rotate('single-user');
    const old = await stack.credentials('AWSPREVIOUS');
    expect(await stack.admin.loginError(old, stack.database.dbname)).not.toBeNull();
    await stack.admin.killSessions([...stack.usernames]);

    // Assess: still green, on the new version, with one or two GetSecretValue calls more
    expect((await call('/notes', { author: 'ann', body: 'after single-user' })).status).toBe(201);
    const mid = await call('/health');
    expect(mid.json.secret.versionId).toBe((await stack.credentials('AWSCURRENT')).versionId);
    expect(mid.json.secret.fetches - before.json.secret.fetches).toBeLessThanOrEqual(2);

    // Act: two alternating-users rotations (the second changes the password of the user in use)
    await stack.rotate('alternating-users');
    await stack.rotate('alternating-users');
    await stack.admin.killSessions([...stack.usernames]);

    // Assess
    expect((await call('/notes', { author: 'bob', body: 'after alternating-users' })).status).toBe(201);
    const notes = await call('/notes?limit=5');
    expect(notes.json.notes.map((n: { body: string }) => n.body)).toEqual([
      'after alternating-users',
      'after single-user',
      'before',
    ]);
    const after = await call('/health');
    expect(after.json.status).toBe('ok');
    expect(after.json.secret.versionId).toBe((await stack.credentials('AWSCURRENT')).versionId);
    expect(after.json.secret.fetches - before.json.secret.fetches).toBeLessThanOrEqual(4);
  });
});
