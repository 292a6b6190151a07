import { request } from 'node:http';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../src/index.js';
import { type Harness, startHarness, token as requestToken, uniqueName } from './helpers.js';

const TOKEN = 'agent-test-token-0123456789';

let now = 1_700_000_000_000;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(ttlMs = 300_000): Promise<Harness> {
  now = 1_700_000_000_000;
  h = await startHarness({ clock: () => now, agent: { token: TOKEN, ttlMs } });
  return h;
}

function get(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; token?: string | null } = {},
): Promise<{ status: number; body: string; json: () => any }> {
  const agent = h!.sm.agent!;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null) headers['X-Aws-Parameters-Secrets-Token'] = opts.token ?? TOKEN;
  return new Promise((resolve, reject) => {
    const req = request(`${agent.endpoint}${path}`, { method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function secret(value = 'v1'): Promise<string> {
  const name = uniqueName('agent');
  await h!.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return name;
}

const q = (name: string, extra = '') => `/secretsmanager/get?secretId=${encodeURIComponent(name)}${extra}`;

describe('local Secrets Manager Agent endpoint', () => {
  it('answers the GetSecretValue shape, path style too, and /ping without a token', async () => {
    await start();
    const name = await secret('hello');
    const res = await get(q(name));
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ Name: name, SecretString: 'hello', VersionStages: ['AWSCURRENT'] });
    expect(body.ARN).toMatch(/^arn:aws:secretsmanager:/);
    expect(typeof body.CreatedDate).toBe('string'); // the agent serialises "secs.frac" as a string
    expect(Number(body.CreatedDate)).toBeCloseTo(now / 1000, 0);
    expect((await get(`/v1/${name}?versionStage=AWSCURRENT`)).json().SecretString).toBe('hello');
    const ping = await get('/ping', { token: null });
    expect([ping.status, ping.body]).toEqual([200, 'healthy']);
  });

  it('enforces the SSRF rules in the agent order: X-Forwarded-For 400, token 403, method 405, parameters 400', async () => {
    await start();
    const name = await secret();
    expect((await get(q(name), { token: null })).status).toBe(403);
    expect((await get(q(name), { token: 'wrong' })).status).toBe(403);
    expect((await get(q(name), { token: null, headers: { 'X-Vault-Token': TOKEN } })).status).toBe(200);
    const fwd = await get(q(name), { headers: { 'X-Forwarded-For': '10.0.0.1' } });
    expect([fwd.status, fwd.body]).toEqual([400, 'Forwarded']);
    expect((await get(q(name), { method: 'POST', token: null })).status).toBe(403); // token checked first
    expect((await get(q(name), { method: 'POST' })).status).toBe(405);
    const unknown = await get(q(name, '&foo=1'));
    expect([unknown.status, unknown.body]).toEqual([400, 'unknown parameter: foo']);
    expect((await get(q(name, '&refreshNow=yes'))).status).toBe(400);
    expect((await get('/secretsmanager/get')).body).toBe('missing parameter secretId');
    expect((await get('/elsewhere')).status).toBe(404);
    expect(h!.sm.agent!.callCount('GetSecretValue')).toBe(1);
  });

  it('passes Secrets Manager errors through with status and {"__type","message"}', async () => {
    await start();
    const res = await get(q('no-such-secret'));
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ __type: 'ResourceNotFoundException', message: expect.any(String) });
    const name = await secret();
    const pending = await get(q(name, '&versionStage=AWSPENDING'));
    expect(pending.json().__type).toBe('ResourceNotFoundException');
    // Errors are not cached: each read goes upstream.
    await get(q(name, '&versionStage=AWSPENDING'));
    expect(h!.sm.agent!.callCount('GetSecretValue')).toBe(3);
  });

  it('serves from cache within the TTL; on expiry DescribeSecret first, GetSecretValue only when the version moved', async () => {
    await start(300_000);
    const name = await secret('v1');
    const agent = h!.sm.agent!;
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v1');
    await h!.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' }));
    now += 299_000;
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v1'); // stale within TTL
    expect(agent.counters()).toEqual({ GetSecretValue: 1 });
    // No versionStage is its own cache entry.
    expect((await get(q(name))).json().SecretString).toBe('v2');
    now += 2_000; // AWSCURRENT entry expired
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v2');
    expect(agent.counters()).toEqual({ GetSecretValue: 3, DescribeSecret: 1 });
    now += 301_000; // expired again, version unchanged: DescribeSecret only, TTL reset
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v2');
    expect(agent.counters()).toEqual({ GetSecretValue: 3, DescribeSecret: 2 });
    now += 100_000;
    await get(q(name, '&versionStage=AWSCURRENT'));
    expect(agent.counters()).toEqual({ GetSecretValue: 3, DescribeSecret: 2 });
  });

  it('refreshNow bypasses and resets the cache; a failed refreshNow leaves the cache untouched', async () => {
    await start();
    const name = await secret('v1');
    const agent = h!.sm.agent!;
    await get(q(name, '&versionStage=AWSCURRENT'));
    await h!.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' }));
    expect((await get(q(name, '&versionStage=AWSCURRENT&refreshNow=TRUE'))).json().SecretString).toBe('v2');
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v2'); // cache reset
    expect(agent.callCount('GetSecretValue')).toBe(2);
    agent.setUpstreamDown(true);
    const failed = await get(q(name, '&versionStage=AWSCURRENT&refreshNow=1'));
    expect([failed.status, failed.json().__type]).toEqual([502, 'ConnectionError']);
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v2');
  });

  it('serves the expired value while Secrets Manager is unreachable (transient errors)', async () => {
    await start(1_000);
    const name = await secret('v1');
    const agent = h!.sm.agent!;
    await get(q(name, '&versionStage=AWSCURRENT'));
    agent.setUpstreamDown(true);
    now += 5_000;
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().SecretString).toBe('v1');
    expect((await get(q(name, '&versionStage=AWSPENDING'))).status).toBe(502); // nothing cached
    agent.setUpstreamDown(false);
  });

  it('AWSPENDING entries revalidate against the label (rotation window)', async () => {
    await start(1_000);
    const name = await secret('v1');
    const agent = h!.sm.agent!;
    const v2 = requestToken('v2');
    await h!.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'v2',
        ClientRequestToken: v2,
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect((await get(q(name, '&versionStage=AWSPENDING'))).json().VersionId).toBe(v2);
    const current = (await get(q(name, '&versionStage=AWSCURRENT'))).json().VersionId;
    await h!.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v2,
        RemoveFromVersionId: current,
      }),
    );
    now += 2_000;
    expect((await get(q(name, '&versionStage=AWSCURRENT'))).json().VersionId).toBe(v2);
    expect((await get(q(name, '&versionStage=AWSPENDING'))).json().VersionId).toBe(v2); // still labelled: DescribeSecret only
    expect(agent.counters()).toEqual({ GetSecretValue: 3, DescribeSecret: 2 });
    // sm.resetCounters() resets the agent's upstream counters too.
    h!.sm.resetCounters();
    expect(agent.counters()).toEqual({});
  });

  it('CLI flags: --agent-port, --agent-token, --agent-ttl', () => {
    expect(parseCliArgs(['--agent-port', '2773', '--agent-token', 't', '--agent-ttl', '60'])).toEqual({
      agent: { port: 2773, token: 't', ttlMs: 60_000 },
    });
    expect(() => parseCliArgs(['--agent-ttl', '60'])).toThrow(/need --agent-port/);
    expect(() => parseCliArgs(['--agent-port', 'x'])).toThrow(/--agent-port/);
  });
});
