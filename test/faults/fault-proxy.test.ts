/**
 * The fault proxy itself: TCP modes against a real echo server (as in front of a database), HTTP
 * modes through the real AWS SDK against the local Secrets Manager.
 */
import net from 'node:net';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  type FaultProxy,
  newSecretsManagerClient,
  putDbSecret,
  startFaultProxy,
  startTestSecretsManager,
  type TestSecretsManager,
} from '@dbcreds/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PING = 'ping-ping-ping';
/** Long enough only to catch a hang: the modes that answer do so in milliseconds. */
const HANG_MS = 10_000;

/**
 * Connects, writes `ping`, collects what comes back until close, the whole echo, or `waitMs`. Only the
 * blackhole check passes a short `waitMs` (proving silence); everywhere else it is a hang guard, so a
 * loaded machine's slow answer cannot end the exchange before it arrives.
 */
function exchange(port: number, waitMs = HANG_MS): Promise<{ data: string; error?: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const s = net.connect(port, '127.0.0.1');
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks).toString(), ...(error && { error }), closed });
    };
    const timer = setTimeout(() => done(false), waitMs);
    s.on('connect', () => s.write(PING));
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (Buffer.concat(chunks).toString() === PING) done(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code;
    });
    s.on('close', () => done(true));
  });
}

describe('fault proxy, tcp', () => {
  let echo: net.Server;
  let proxy: FaultProxy;
  beforeAll(async () => {
    echo = net.createServer((s) => s.on('data', (c) => s.write(c)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const target = { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port };
    proxy = await startFaultProxy({ target, protocol: 'tcp', latencyMs: 200 });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });

  it('pass relays both ways; blackhole accepts and never answers; latency answers late', async () => {
    expect((await exchange(proxy.port)).data).toBe(PING);
    await proxy.setMode('blackhole');
    expect(await exchange(proxy.port, 300)).toEqual({ data: '', closed: false });
    await proxy.setMode('latency');
    const t0 = Date.now();
    expect((await exchange(proxy.port)).data).toBe(PING);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(proxy.counts).toMatchObject({ pass: 1, blackhole: 1, latency: 1 });
    await proxy.setMode('pass');
  });

  it('refuse closes the listener (ECONNREFUSED) and reopens it on the same port; reset cuts the answer with RST', async () => {
    const port = proxy.port;
    await proxy.setMode('refuse');
    expect((await exchange(port)).error).toBe('ECONNREFUSED');
    await proxy.setMode('reset');
    expect(proxy.port).toBe(port);
    const r = await exchange(port);
    expect(r.error).toBe('ECONNRESET');
    expect(PING.startsWith(r.data)).toBe(true);
    expect(r.data.length).toBeLessThan(PING.length);
    await proxy.setMode('pass');
    expect((await exchange(port)).data).toBe(PING);
  });

  it('rejects HTTP-only modes', async () => {
    await expect(proxy.setMode('http500')).rejects.toThrow(/protocol 'http'/);
  });
});

describe('fault proxy, http (AWS JSON 1.1) through the SDK', () => {
  let tsm: TestSecretsManager;
  let proxy: FaultProxy;
  beforeAll(async () => {
    tsm = await startTestSecretsManager();
    await putDbSecret(tsm.client, 'fp/db', { engine: 'postgres', host: 'h', port: 1, username: 'u', password: 'p' });
    proxy = await startFaultProxy({ target: tsm.endpoint, latencyMs: 60_000 });
  });
  afterAll(async () => {
    await proxy?.close();
    await tsm?.close();
  });

  it.each([
    ['pass', { VersionId: expect.any(String) }],
    ['http500', { name: 'InternalServiceError', $metadata: { httpStatusCode: 500 } }],
    ['throttle', { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }],
    ['refuse', { code: 'ECONNREFUSED' }],
    ['reset', { code: 'ECONNRESET' }],
    ['truncate', { code: 'ECONNRESET' }],
    ['garbage', { name: 'SyntaxError' }],
    ['blackhole', { name: 'AbortError' }],
    ['latency', { name: 'AbortError' }],
  ] as const)('%s', async (mode, expected) => {
    await proxy.setMode(mode);
    const client = newSecretsManagerClient(proxy.endpoint, 1);
    const seen: string[] = [];
    // The two modes that never answer (in time) are aborted 300 ms after the proxy has the request: silence
    // from then on is what they promise. Counted from the send, a loaded machine could abort before the
    // request even arrived. For every other mode the abort is a hang guard (they answer in milliseconds).
    const silent = new AbortController();
    const off = proxy.onRequest((r) => {
      seen.push(`${r.mode} ${r.target}`);
      if (mode === 'blackhole' || mode === 'latency') setTimeout(() => silent.abort(), 300);
    });
    try {
      const abortSignal = AbortSignal.any([silent.signal, AbortSignal.timeout(HANG_MS)]);
      const out = await client
        .send(new GetSecretValueCommand({ SecretId: 'fp/db' }), { abortSignal })
        .catch((e: unknown) => e);
      expect(out).toMatchObject(expected);
      if (mode !== 'refuse') expect(seen).toEqual([`${mode} secretsmanager.GetSecretValue`]);
      else expect(seen).toEqual([]);
    } finally {
      off();
      client.destroy();
      await proxy.setMode('pass');
    }
  });
});
