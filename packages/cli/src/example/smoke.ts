import { strict as assert } from 'node:assert';
import type { LocalStack } from '../stack/local-stack.js';

export interface SmokeReport {
  /** Notes bodies returned by the last GET /notes, newest first. */
  bodies: string[];
  /** GetSecretValue calls the app made during the rotations (from GET /health). */
  appFetches: number;
  /** Auth error code the server gave the pre-rotation password. */
  oldPasswordRejectedWith: string;
  /** Database users reported by GET /health before and after. */
  usersSeen: string[];
}

async function call(url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, body ? { method: 'POST', body: JSON.stringify(body) } : {});
  return { status: res.status, json: await res.json() };
}

/**
 * The example apps' smoke scenario against a running notes service and its local stack:
 * write + read + health → single-user rotation (asserts the server rejects the old password) →
 * sessions killed → write + read green on the new version → two alternating-users rotations (the
 * second changes the password of the user in use) → sessions killed → write + read green.
 * Throws an AssertionError on the first failed expectation; returns figures for the caller to check.
 */
export async function rotationSmoke(appUrl: string, stack: LocalStack): Promise<SmokeReport> {
  const post = async (body: string) => {
    const res = await call(`${appUrl}/notes`, { author: 'smoke', body });
    assert.equal(res.status, 201, `POST /notes answered ${res.status} ${JSON.stringify(res.json)}`);
  };
  const health = async () => {
    const res = await call(`${appUrl}/health`);
    assert.equal(res.status, 200, `GET /health answered ${res.status} ${JSON.stringify(res.json)}`);
    const current = await stack.credentials('AWSCURRENT');
    return { ...(res.json as { dbUser: string; secret: { versionId: string; fetches: number } }), current };
  };

  await post('before');
  const before = await health();
  assert.equal(before.secret.versionId, before.current.versionId);

  await stack.rotate('single-user');
  const old = await stack.credentials('AWSPREVIOUS');
  const code = await stack.admin.loginError(old, stack.database.dbname);
  assert.ok(code, 'the server still accepts the pre-rotation password: the rotation proves nothing');
  await stack.admin.killSessions([...stack.usernames]);
  await post('after single-user');
  const mid = await health();
  assert.equal(mid.secret.versionId, mid.current.versionId, 'the app did not pick up the rotated secret');

  await stack.rotate('alternating-users');
  await stack.rotate('alternating-users');
  await stack.admin.killSessions([...stack.usernames]);
  await post('after alternating-users');
  const after = await health();
  assert.equal(after.secret.versionId, after.current.versionId, 'the app did not pick up the rotated secret');

  const list = await call(`${appUrl}/notes?limit=10`);
  assert.equal(list.status, 200);
  return {
    bodies: (list.json.notes as Array<{ body: string }>).map((n) => n.body),
    appFetches: after.secret.fetches - before.secret.fetches,
    oldPasswordRejectedWith: code,
    usersSeen: [before.dbUser, mid.dbUser, after.dbUser],
  };
}
