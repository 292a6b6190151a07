/**
 * The Secrets Manager Agent backend, against the local Secrets Manager's agent endpoint (real HTTP on
 * loopback, agent semantics: TTL cache, DescribeSecret revalidation, refreshNow, no coalescing). One
 * manual clock drives both the sources' TTL / rate limits and the agent's cache, so every step is exact.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  ConfigurationError,
  type CredentialSource,
  type CredentialSourceOptions,
  createCredentialSource,
  type DbCredentials,
  SecretFetchError,
  SecretNotFoundError,
  SourceClosedError,
} from '@dbcreds/core';
import { type LocalSecretsManager, startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveAgentToken } from '../src/backends/agent-client.js';

const TOKEN = 'core-agent-test-token';
let now = 1_800_000_000_000;
const clock = { now: () => now };
let sm: LocalSecretsManager | undefined;
let admin: SecretsManagerClient | undefined;
const sources: CredentialSource[] = [];
const servers: Server[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of sources.splice(0)) s.close();
  for (const s of servers.splice(0)) s.close();
  admin?.destroy();
  await sm?.close();
  sm = undefined;
});

async function start(agentTtlMs = 300_000, upstreamLatencyMs = 0): Promise<void> {
  now = 1_800_000_000_000;
  sm = await startLocalSecretsManager({
    clock: () => now,
    agent: { token: TOKEN, ttlMs: agentTtlMs, upstreamLatencyMs },
  });
  admin = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: sm.endpoint,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
}

const upstream = () => sm!.agent!.counters();

function source(secretId: string, opts: Partial<CredentialSourceOptions> = {}): CredentialSource {
  const s = createCredentialSource({
    secretId,
    agent: { endpoint: sm!.agent!.endpoint, token: TOKEN },
    clock,
    ttlMs: 3_600_000,
    minRefreshIntervalMs: 5_000,
    // These cases pin the lookup after one refusal; waiting for out-of-band changes is tested apart.
    awaitRotationMs: 0,
    retry: { maxAttempts: 1 },
    ...opts,
  });
  sources.push(s);
  return s;
}

const secretJson = (password: string) => JSON.stringify({ username: 'app', password, engine: 'postgres' });

let n = 0;
async function createSecret(password: string): Promise<{ name: string; v1: string }> {
  const name = `agent-core-${++n}-${Math.random().toString(36).slice(2, 8)}`;
  const out = await admin!.send(new CreateSecretCommand({ Name: name, SecretString: secretJson(password) }));
  return { name, v1: out.VersionId! };
}

/** createSecret + setSecret of a single-user rotation: the new version is AWSPENDING only. */
async function putPending(name: string, password: string): Promise<string> {
  now += 1_000; // versions get distinct CreatedDates
  const out = await admin!.send(
    new PutSecretValueCommand({ SecretId: name, SecretString: secretJson(password), VersionStages: ['AWSPENDING'] }),
  );
  return out.VersionId!;
}

/** finishSecret: AWSCURRENT moves to `to` (AWSPENDING stays on it, as in the AWS templates). */
async function finish(name: string, from: string, to: string): Promise<void> {
  await admin!.send(
    new UpdateSecretVersionStageCommand({
      SecretId: name,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: to,
      RemoveFromVersionId: from,
    }),
  );
}

describe('agent backend: reads', () => {
  it('reads AWSCURRENT through the agent with the SSRF token; the cache serves later sources', async () => {
    await start();
    const { name, v1 } = await createSecret('p1');
    const a = source(name);
    const creds = await a.get();
    expect([creds.username, creds.password, creds.versionId, creds.stage]).toEqual(['app', 'p1', v1, 'AWSCURRENT']);
    expect(creds.createdAt).toBe(now);
    await source(name).get();
    expect(upstream()).toEqual({ GetSecretValue: 1 });
    expect(sm!.callCount('GetSecretValue')).toBe(0); // nothing reached the Secrets Manager API directly
    expect(a.stats().fetches).toBe(1);
  });

  it('typed errors: missing secret → SecretNotFoundError; wrong token → SecretFetchError (403, not retried)', async () => {
    await start();
    await expect(source('no-such-secret').get()).rejects.toBeInstanceOf(SecretNotFoundError);
    const { name } = await createSecret('p1');
    const wrong = source(name, {
      agent: { endpoint: sm!.agent!.endpoint, token: 'not-the-token' },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const err = (await wrong.get().catch((e: unknown) => e)) as SecretFetchError;
    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err.attempts).toBe(1);
    expect(err.message).toContain(`from the Secrets Manager Agent at ${sm!.agent!.endpoint}: AgentForbidden`);
    expect((err.cause as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(403);
    expect(`${err.message} ${inspect(err)} ${inspect(wrong)} ${JSON.stringify(wrong.stats())}`).not.toContain(
      'not-the-token',
    );
  });

  it('an agent that does not answer: attemptTimeoutMs aborts the attempt (retryable), close() ends a pending read', async () => {
    await start();
    const silent = createServer(() => {}); // accepts, never answers
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const s = source('x', {
      agent: { endpoint, token: TOKEN },
      attemptTimeoutMs: 50,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const err = (await s.get().catch((e: unknown) => e)) as SecretFetchError;
    expect(err).toBeInstanceOf(SecretFetchError);
    expect(err.attempts).toBe(2);
    expect((err.cause as Error).name).toBe('TimeoutError');
    const slow = source('x', { agent: { endpoint, token: TOKEN }, attemptTimeoutMs: 60_000 });
    const pending = slow.get();
    slow.close();
    await expect(pending).rejects.toBeInstanceOf(SourceClosedError);
  });

  it('an agent not listening (Lambda extension still starting): ECONNREFUSED is retried', async () => {
    await start();
    const s = source('x', {
      agent: { endpoint: 'http://127.0.0.1:1', token: TOKEN },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const err = (await s.get().catch((e: unknown) => e)) as SecretFetchError;
    expect(err.attempts).toBe(3);
    expect((err.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });
});

describe('agent backend: options and token', () => {
  it('agent with client / clientConfig: one ConfigurationError naming the keys', () => {
    const fake = { send: async () => ({}) } as never;
    let err: ConfigurationError | undefined;
    try {
      createCredentialSource({ secretId: 's', agent: true, client: fake, clientConfig: {} } as never);
    } catch (e) {
      err = e as ConfigurationError;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err!.keys).toEqual(expect.arrayContaining(['agent', 'client', 'clientConfig']));
    expect(err!.message).toMatch(/agent, client, clientConfig: agent reads through the Secrets Manager Agent/);
    expect(() => createCredentialSource({ secretId: 's', agent: { port: 1 } as never })).toThrow(
      /agent\.port: unknown/,
    );
    expect(() => createCredentialSource({ secretId: 's', agent: { endpoint: 'ftp://x' } })).toThrow(/agent\.endpoint/);
  });

  it("token precedence is the agent's: option, AWS_TOKEN (file:// read), AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN", async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/dbcreds-agent-token-');
    writeFileSync(`${dir}/t`, 'from-file\n');
    expect(resolveAgentToken('explicit', { AWS_TOKEN: 'a' })).toBe('explicit');
    expect(resolveAgentToken(undefined, { AWS_TOKEN: 'a', AWS_SESSION_TOKEN: 'b' })).toBe('a');
    expect(resolveAgentToken(undefined, { AWS_TOKEN: `file://${dir}/t`, AWS_SESSION_TOKEN: 'b' })).toBe('from-file');
    expect(resolveAgentToken(undefined, { AWS_SESSION_TOKEN: 'b', AWS_CONTAINER_AUTHORIZATION_TOKEN: 'c' })).toBe('b');
    expect(resolveAgentToken(undefined, { AWS_CONTAINER_AUTHORIZATION_TOKEN: 'c' })).toBe('c');
    expect(() => resolveAgentToken(undefined, {})).toThrow(/agent\.token.*\/var\/run\/awssmatoken/);
  });
});

describe('agent backend: after an authentication failure, the cache before refreshNow', () => {
  it('another process already read the new AWSCURRENT: served from the agent cache, no refreshNow', async () => {
    await start();
    const { name, v1 } = await createSecret('p1');
    const a = source(name);
    const b = source(name);
    const old = await a.get();
    await b.get();
    now += 1_000;
    const v2 = (await admin!.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretJson('p2') })))
      .VersionId!;
    // Process A is rejected first: its cached reads hold only v1, so it forces one refresh.
    const fromA = await a.refresh(old);
    expect(fromA.versionId).toBe(v2);
    expect(a.stats().forcedRefreshes).toBe(1);
    const before = upstream().GetSecretValue;
    // Process B, rejected a moment later: the agent's cache already has v2.
    const fromB = await b.refresh(old);
    expect(fromB.versionId).toBe(v2);
    expect(b.stats().forcedRefreshes).toBe(0);
    expect(upstream().GetSecretValue).toBe(before); // B cost Secrets Manager nothing
    expect(v1).not.toBe(v2);
  });

  it('rotation window: the first AWSPENDING read is cached for every process after it; no refreshNow', async () => {
    await start();
    const { name } = await createSecret('p1');
    const fleet = [source(name), source(name), source(name), source(name), source(name)];
    const old = await Promise.all(fleet.map((s) => s.get()));
    const v2 = await putPending(name, 'p2');
    sm!.resetCounters();
    const got: DbCredentials[] = [];
    for (const [i, s] of fleet.entries()) got.push(await s.refresh(old[i]));
    expect(got.map((c) => [c.versionId, c.stage, c.password])).toEqual(Array(5).fill([v2, 'AWSPENDING', 'p2']));
    expect(upstream()).toEqual({ GetSecretValue: 1 }); // AWSPENDING, once for the host
    expect(fleet.map((s) => s.stats().forcedRefreshes)).toEqual([0, 0, 0, 0, 0]);
  });

  it('refreshNow only when the cached reads hold nothing newer, at most once per minRefreshIntervalMs', async () => {
    await start();
    const { name } = await createSecret('p1');
    const s = source(name, { minRefreshIntervalMs: 5_000 });
    const a = await s.get();
    // The password was changed on the server but no new version exists (operator error): fruitless.
    sm!.resetCounters();
    await s.refresh(a);
    expect(s.stats().forcedRefreshes).toBe(1);
    // AWSPENDING not found is never cached by the agent, so it is fresh already: not re-read with refreshNow.
    expect(upstream()).toEqual({ GetSecretValue: 2 }); // AWSPENDING (miss) + AWSCURRENT refreshNow
    now += 1_000;
    await s.refresh(a); // rate-limited: answered from the cache
    expect(s.stats()).toMatchObject({ forcedRefreshes: 1, rateLimited: 1 });
    expect(upstream()).toEqual({ GetSecretValue: 2 });
    now += 5_000;
    await s.refresh(a);
    expect(s.stats().forcedRefreshes).toBe(2);
    expect(upstream()).toEqual({ GetSecretValue: 4 });
  });

  it('back-to-back rotations: a stale cached AWSCURRENT older than the rejected version is never installed', async () => {
    await start();
    const { name, v1 } = await createSecret('p1');
    const s = source(name, { minRefreshIntervalMs: 100, ttlMs: 10_000 });
    const c1 = await s.get();
    // Rotation 1, window: the source moves to v2 by the cached AWSPENDING read.
    const v2 = await putPending(name, 'p2');
    const c2 = await s.refresh(c1);
    expect([c2.versionId, c2.stage]).toEqual([v2, 'AWSPENDING']);
    await finish(name, v1, v2);
    // The agent still caches AWSCURRENT = v1 (TTL 300 s); a TTL reload of the source must not go back to it.
    now += 10_001;
    // Waited for, not slept for: after a fixed 50 ms a slow reload had not run yet and v2 passed unchecked.
    const reloaded = new Promise((r) => s.once('refreshed', r));
    await s.get(); // stale-while-revalidate: starts the background reload
    await reloaded;
    expect((await s.get()).versionId).toBe(v2);
    // Rotation 2, window: rejected v2. Cached AWSCURRENT = v1 (older), cached AWSPENDING = v2 (rejected):
    // only refreshNow can find v3.
    const before = upstream().GetSecretValue!;
    const v3 = await putPending(name, 'p3');
    const c3 = await s.refresh(await s.get());
    expect([c3.versionId, c3.password]).toEqual([v3, 'p3']);
    expect(s.stats().forcedRefreshes).toBe(1); // AWSPENDING first with refreshNow: one round trip
    expect(s.stats().rotations).toBe(2); // v1 → v2 → v3, never back to v1
    expect(upstream().GetSecretValue! - before).toBe(1);
  });

  it('the pending fallback itself rejected (set never ran): back to AWSCURRENT, found by refreshNow', async () => {
    await start();
    const { name, v1 } = await createSecret('p1');
    const s = source(name, { minRefreshIntervalMs: 100 });
    const c1 = await s.get();
    const v2 = await putPending(name, 'p2');
    const c2 = await s.refresh(c1); // server still has p1 in truth: the fallback is wrong
    expect(c2.versionId).toBe(v2);
    now += 200;
    const back = await s.refresh(c2);
    expect([back.versionId, back.stage]).toEqual([v1, 'AWSCURRENT']);
    expect(s.stats().fallbacks).toBe(2);
  });

  it('a host rejected all at once: the agent does not coalesce misses, spreadMs lets later reads hit its cache', async () => {
    await start(300_000, 50); // Secrets Manager answers the agent in 50 ms
    const run = async (spreadMs: number) => {
      const { name } = await createSecret('p1');
      const fleet = Array.from({ length: 8 }, () =>
        source(name, { agent: { endpoint: sm!.agent!.endpoint, token: TOKEN, spreadMs } }),
      );
      const old = await Promise.all(fleet.map((s) => s.get()));
      const pending = await putPending(name, `p-${spreadMs}`);
      sm!.resetCounters();
      let i = 0;
      // Deterministic spread: every Math.random() call answers a new multiple of 1/16, so the processes'
      // waits are distinct and at least spreadMs / 16 apart (150 ms with 2400: 3× the agent's latency).
      vi.spyOn(Math, 'random').mockImplementation(() => Math.min(0.99, i++ / 16));
      const got = await Promise.all(fleet.map((s, k) => s.refresh(old[k])));
      vi.restoreAllMocks();
      expect(got.every((c) => c.versionId === pending)).toBe(true);
      return upstream().GetSecretValue ?? 0;
    };
    expect(await run(0)).toBe(8); // every process missed AWSPENDING at the same moment
    expect(await run(2_400)).toBe(1);
  });

  it('agent: { refreshNow: false } (Lambda extension): never forces, the agent TTL bounds staleness', async () => {
    await start();
    const { name } = await createSecret('p1');
    const s = source(name, { agent: { endpoint: sm!.agent!.endpoint, token: TOKEN, refreshNow: false } });
    const a = await s.get();
    await s.refresh(a);
    expect(s.stats().forcedRefreshes).toBe(0);
    // initial + AWSCURRENT (cached) + AWSPENDING (not found) + AWSCURRENT again (finishSecret may have run between)
    expect(s.stats().fetches).toBe(4);
  });
});

describe('agent backend: waiting for a newer version (awaitRotationMs)', () => {
  /** A new AWSCURRENT straight away (no AWSPENDING), as an out-of-band change or a finished rotation leaves it. */
  async function putCurrent(name: string, password: string): Promise<string> {
    now += 1_000;
    const out = await admin!.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretJson(password) }));
    return out.VersionId!;
  }

  // The fleet race (issue #23): a process refused while the agent still caches the old AWSCURRENT and
  // its own refreshNow slot is taken (it forced a read less than minRefreshIntervalMs ago) found
  // nothing newer, kept the refused credentials and, rate-limited, failed every login for 5 s.
  async function staleAgentWithSlotTaken(awaitRotationMs: number) {
    await start();
    const { name } = await createSecret('p1');
    const agent = { endpoint: sm!.agent!.endpoint, token: TOKEN, spreadMs: 0 };
    const s = source(name, { awaitRotationMs, agent });
    await s.withAuthRetry(async () => undefined); // a login that worked
    await s.get();
    await putCurrent(name, 'p2');
    const v2 = await s.refresh(); // a forced read that found v2: the refreshNow slot is taken
    expect(s.stats().forcedRefreshes).toBe(1);
    const v3 = await putCurrent(name, 'p3'); // the agent's cache still answers v2
    return { s, v2, v3 };
  }

  it('without a wait: the refused version is kept (the failure the fleet saw)', async () => {
    const { s, v2 } = await staleAgentWithSlotTaken(0);
    expect((await s.refresh(v2)).versionId).toBe(v2.versionId);
  });

  it('with a wait: the poll reads through the agent (refreshNow) and finds the new AWSCURRENT', async () => {
    const { s, v2, v3 } = await staleAgentWithSlotTaken(2_000);
    const before = upstream().GetSecretValue ?? 0;
    const next = await s.refresh(v2);
    expect(next.versionId).toBe(v3);
    // cached lookup: AWSPENDING misses upstream; first poll: AWSPENDING then AWSCURRENT, both refreshNow
    expect(upstream().GetSecretValue! - before).toBe(3);
    expect(s.stats().forcedRefreshes).toBe(3);
  });
});
