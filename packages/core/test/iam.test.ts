/**
 * RDS IAM auth tokens: the real `@aws-sdk/rds-signer` (static fake AWS credentials: presigning is
 * local), on fake time (vitest fakes Date, which the signer's SigV4 presign reads, and the source's
 * default clock). The credentials provider counts signings and can fail on demand.
 */
import { inspect } from 'node:util';
import { ConfigurationError, type CredentialSource, type DbCredentials, SecretFetchError } from '@dbcreds/core';
import { iamDriverRequirements, RDS_CA_BUNDLE_URL } from '@dbcreds/core/adapter';
import {
  createIamAuthSource,
  IAM_TOKEN_LIFETIME_MS,
  type IamAuthSourceOptions,
  iamSourceInfo,
} from '@dbcreds/core/iam';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const sources: CredentialSource[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function setup(opts: Partial<IamAuthSourceOptions> = {}) {
  const signer = { calls: 0, fail: false };
  const source = createIamAuthSource({
    hostname: 'db.cluster-abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    username: 'app_iam',
    region: 'eu-west-1',
    credentials: async () => {
      signer.calls++;
      if (signer.fail) throw Object.assign(new Error('connect ETIMEDOUT 169.254.169.254:80'), { code: 'ETIMEDOUT' });
      return { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    },
    retry: { maxAttempts: 1 },
    errorBackoff: { baseDelayMs: 1_000, maxDelayMs: 1_000 },
    ...opts,
  });
  sources.push(source);
  return { signer, source };
}

/** The token's own validity: X-Amz-Date + X-Amz-Expires (it is a presigned URL without the scheme). */
function validity(token: string): { signedAt: number; expiresAt: number; url: URL } {
  const url = new URL(`https://${token}`);
  const d = url.searchParams.get('X-Amz-Date')!; // 20261201T090000Z
  const signedAt = Date.UTC(
    +d.slice(0, 4),
    +d.slice(4, 6) - 1,
    +d.slice(6, 8),
    +d.slice(9, 11),
    +d.slice(11, 13),
    +d.slice(13, 15),
  );
  return { signedAt, expiresAt: signedAt + Number(url.searchParams.get('X-Amz-Expires')) * 1000, url };
}

const authError = () => Object.assign(new Error('PAM authentication failed for user "app_iam"'), { code: '28000' });

describe('createIamAuthSource: tokens from the real RDS signer', () => {
  it('a token is an rds-db:connect presigned URL for hostname:port and the user, valid 900 s', async () => {
    const { source } = setup();
    const c = await source.get();
    const { signedAt, expiresAt, url } = validity(c.password);
    expect(url.host).toBe('db.cluster-abc.eu-west-1.rds.amazonaws.com:5432');
    expect(url.searchParams.get('Action')).toBe('connect');
    expect(url.searchParams.get('DBUser')).toBe('app_iam');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIDEXAMPLE\/20261201\/eu-west-1\/rds-db\/aws4_request$/,
    );
    expect(signedAt).toBe(T0);
    expect(expiresAt - signedAt).toBe(IAM_TOKEN_LIFETIME_MS);
    expect([c.username, c.host, c.port]).toEqual(['app_iam', 'db.cluster-abc.eu-west-1.rds.amazonaws.com', 5432]);
    expect(iamSourceInfo(source)).toEqual({ hostname: url.hostname, port: 5432, username: 'app_iam' });
  });

  it('replaced at a jittered point in [10, 12] min after signing, in the background', async () => {
    for (const [random, replaceAt] of [
      [0, 10 * MIN],
      [0.5, 11 * MIN],
      [0.999_999, 12 * MIN],
    ] as const) {
      vi.setSystemTime(T0);
      vi.spyOn(Math, 'random').mockReturnValue(random);
      const { signer, source } = setup();
      const first = await source.get();
      vi.setSystemTime(T0 + replaceAt - 1_000);
      expect(await source.get()).toBe(first); // still fresh: no signing
      expect(signer.calls).toBe(1);
      vi.setSystemTime(T0 + replaceAt + 1);
      expect(await source.get()).toBe(first); // expired: served at once, re-signed in the background
      await vi.advanceTimersByTimeAsync(0);
      const next = await source.get();
      expect(next).not.toBe(first);
      expect(validity(next.password).signedAt).toBe(Math.floor((T0 + replaceAt + 1) / 1000) * 1000);
      expect(signer.calls).toBe(2);
      source.close();
    }
  });

  it('never serves a token older than 14 min: while signing fails, the old one until then, then SecretFetchError', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { signer, source } = setup();
    const first = await source.get();
    signer.fail = true;
    vi.setSystemTime(T0 + 10 * MIN + 1);
    expect(await source.get()).toBe(first);
    await vi.advanceTimersByTimeAsync(0); // the background signing fails
    vi.setSystemTime(T0 + 13 * MIN);
    expect(await source.get()).toBe(first); // stale but still inside the 14 min cap
    vi.setSystemTime(T0 + 14 * MIN + 1);
    const err = await source.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFetchError);
    expect((err as Error).message).toMatch(/from the RDS IAM token signer \(AWS credentials\): Error ETIMEDOUT/);
    expect(validity(first.password).expiresAt - (T0 + 14 * MIN)).toBe(MIN); // a minute of margin was left
    signer.fail = false;
    await vi.advanceTimersByTimeAsync(1_000); // error backoff
    const fresh = await source.get();
    expect(validity(fresh.password).signedAt).toBeGreaterThan(T0 + 14 * MIN - 1_000);
  });

  it('single-flight: a burst of 200 get() on a cold source signs once; 50 concurrent auth failures sign once more', async () => {
    const { signer, source } = setup();
    const burst = await Promise.all(Array.from({ length: 200 }, () => source.get()));
    expect(new Set(burst).size).toBe(1);
    expect(signer.calls).toBe(1);
    const rejected = burst[0]!;
    const attempts: DbCredentials[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        source.withAuthRetry(async (c) => {
          attempts.push(c);
          if (c === rejected) throw authError();
          return c;
        }),
      ),
    );
    expect(signer.calls).toBe(2);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).not.toBe(rejected);
    expect(attempts).toHaveLength(100); // each: one failure, one retry
  });

  it('an auth failure gets one fresh token and one retry; a second failure is the driver error', async () => {
    const { signer, source } = setup();
    let tries = 0;
    const err = await source
      .withAuthRetry(async () => {
        tries++;
        throw authError();
      })
      .catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('28000');
    expect(tries).toBe(2);
    expect(signer.calls).toBe(2);
  });

  it('the token is a password: not in inspect, JSON, String, stats, events or errors', async () => {
    const { source, signer } = setup();
    const events: unknown[] = [];
    source.on('refreshed', (e) => events.push(e));
    source.on('error', (e) => events.push(e));
    const c = await source.get();
    signer.fail = true;
    await source.refresh(c); // fails: stale served, error event
    const text = [
      inspect(c),
      JSON.stringify(c),
      String(c),
      inspect(source),
      String(source),
      JSON.stringify(source.stats()),
    ]
      .concat(events.map((e) => inspect(e, { depth: 5 })))
      .join('\n');
    expect(text).not.toContain(c.password);
    expect(text).not.toContain('X-Amz-Signature');
    expect(String(source)).toBe('IamAuthSource(app_iam@db.cluster-abc.eu-west-1.rds.amazonaws.com:5432)');
  });

  it('options: every problem in one ConfigurationError', () => {
    let err: ConfigurationError | undefined;
    try {
      createIamAuthSource({ hostname: '', port: 0, username: 'u', maxTokenAgeMs: 900_000, foo: 1 } as never);
    } catch (e) {
      err = e as ConfigurationError;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err!.keys).toEqual(['foo', 'hostname', 'port', 'maxTokenAgeMs']);
    expect(() =>
      createIamAuthSource({ hostname: 'h', port: 1, username: 'u', refreshAfterMs: { min: 5, max: 4 } }),
    ).toThrow(/refreshAfterMs/);
  });
});

describe('iamDriverRequirements (adapter kit)', () => {
  it('plain sources need nothing; IAM sources need TLS, the signed host/port, and mysql_clear_password on MySQL', () => {
    const { source } = setup();
    const host = 'db.cluster-abc.eu-west-1.rds.amazonaws.com';
    expect(iamDriverRequirements('pg', {}, 'postgres', {})).toEqual({});
    const noTls = (() => {
      try {
        iamDriverRequirements('pg', source, 'postgres', {});
      } catch (e) {
        return e as ConfigurationError;
      }
    })();
    expect(noTls).toBeInstanceOf(ConfigurationError);
    expect(noTls!.keys).toEqual(['ssl']);
    expect(noTls!.message).toContain(`@dbcreds/pg: an RDS IAM auth source needs TLS: set ssl: { ca: readFileSync(`);
    expect(noTls!.message).toContain(RDS_CA_BUNDLE_URL);
    expect(() => iamDriverRequirements('knex', source, 'postgres', { ssl: false }, 'connection.')).toThrow(
      /set connection\.ssl: \{ ca/,
    );
    expect(iamDriverRequirements('pg', source, 'postgres', { ssl: { ca: 'pem' }, host })).toEqual({});
    expect(() => iamDriverRequirements('pg', source, 'postgres', { ssl: true, host: 'other' })).toThrow(/host to be/);
    expect(() => iamDriverRequirements('pg', source, 'postgres', { ssl: true, port: 5433 })).toThrow(/port to be/);
    expect(iamDriverRequirements('mysql2', source, 'mysql', { ssl: {} })).toEqual({ enableCleartextPlugin: true });
    expect(iamDriverRequirements('mysql2', source, 'mysql', { ssl: {}, enableCleartextPlugin: true })).toEqual({});
    const own = { mysql_clear_password: () => () => Buffer.alloc(0) };
    expect(iamDriverRequirements('mysql2', source, 'mysql', { ssl: {}, authPlugins: own })).toEqual({});
    expect(() => iamDriverRequirements('mysql2', source, 'mysql', { ssl: {}, enableCleartextPlugin: false })).toThrow(
      /enableCleartextPlugin: true/,
    );
  });
});
