/**
 * Property-based tests (fast-check) of the local Secrets Manager's request handling over real HTTP:
 * arbitrary operations and bodies (wrong types, unknown fields, invalid UTF-8, huge and deeply nested
 * JSON) and thousands of concurrent loopback connections. Every request gets an answer — 200 or an
 * AWS-shaped error (`__type`, `Message`), never an internal error — in bounded time and memory, and the
 * server keeps serving afterwards.
 */
import { Agent, request } from 'node:http';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, uniqueName } from './helpers.js';

const OPERATIONS = [
  'CreateSecret',
  'GetSecretValue',
  'PutSecretValue',
  'UpdateSecret',
  'DescribeSecret',
  'ListSecrets',
  'ListSecretVersionIds',
  'UpdateSecretVersionStage',
  'DeleteSecret',
  'RestoreSecret',
  'GetRandomPassword',
  'RotateSecret',
  'CancelRotateSecret',
];
const FIELDS = [
  'Name',
  'SecretId',
  'SecretString',
  'SecretBinary',
  'ClientRequestToken',
  'VersionId',
  'VersionStage',
  'VersionStages',
  'MaxResults',
  'NextToken',
  'Filters',
  'Tags',
  'RecoveryWindowInDays',
  'ForceDeleteWithoutRecovery',
  'PasswordLength',
  'ExcludeCharacters',
  'RotationRules',
  'RotationLambdaARN',
  'MoveToVersionId',
  'RemoveFromVersionId',
];
const MAX_BODY = 64 * 1024;
let h: Harness;
let existing: string;
/** The secret the arbitrary operations aim at (they may change or delete it); `existing` stays untouched. */
let sandbox: string;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

beforeAll(async () => {
  h = await startHarness({ maxBodyBytes: MAX_BODY, schedulerIntervalMs: 0 });
  existing = uniqueName('prop');
  await h.client.send(new CreateSecretCommand({ Name: existing, SecretString: '{"password":"p"}' }));
  sandbox = uniqueName('prop-sandbox');
  await h.client.send(new CreateSecretCommand({ Name: sandbox, SecretString: '{"password":"p"}' }));
});
afterAll(async () => {
  agent.destroy();
  await h.close();
});

interface Answer {
  status: number;
  body: string;
}

function post(
  target: string | undefined,
  body: Buffer | string,
  opts: { agent?: Agent | false } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
    if (target !== undefined) headers['x-amz-target'] = target;
    const req = request(`${h.sm.endpoint}/`, { method: 'POST', headers, agent: opts.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.end(body);
  });
}

/** 200 with a JSON object, or an AWS-shaped 4xx error; never a 5xx. */
function expectWellFormed(a: Answer): void {
  expect(a.status, a.body).toBeLessThan(500);
  const json = JSON.parse(a.body) as Record<string, unknown>;
  expect(typeof json).toBe('object');
  if (a.status !== 200) {
    expect(a.status).toBeGreaterThanOrEqual(400);
    expect(typeof json.__type).toBe('string');
    expect(typeof json.Message).toBe('string');
  }
}

const value = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.object()), { maxLength: 4 }),
  fc.object({ maxDepth: 2 }),
);
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }),
  fc.dictionary(fc.string(), value, { maxKeys: 4 }), // unknown fields
  fc.jsonValue(), // arrays, scalars
);

describe('local Secrets Manager request handling (property-based, real HTTP)', () => {
  it('arbitrary operations and JSON bodies: 200 or an AWS-shaped error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(...OPERATIONS).map((op) => `secretsmanager.${op}`),
          fc.string(),
          fc.constant(undefined),
        ),
        body,
        fc.boolean(),
        async (target, input, aimAtSandbox) => {
          const json =
            aimAtSandbox && input && typeof input === 'object' && !Array.isArray(input)
              ? { ...input, SecretId: sandbox }
              : input;
          expectWellFormed(await post(target, JSON.stringify(json)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a JSON null member is an absent member (found by the property above: UpdateSecret SecretString null was a 500)', async () => {
    for (const [op, input] of [
      ['UpdateSecret', { SecretId: sandbox, SecretString: null, Description: 'd' }],
      ['PutSecretValue', { SecretId: sandbox, SecretString: null, ClientRequestToken: null }],
      ['GetSecretValue', { SecretId: sandbox, VersionStage: null, VersionId: null }],
    ] as const) {
      const a = await post(`secretsmanager.${op}`, JSON.stringify(input));
      expectWellFormed(a);
      expect(a.status, `${op}: ${a.body}`).toBeLessThan(500);
    }
  });

  it('arbitrary bytes (invalid UTF-8, binary, truncated JSON): an AWS-shaped error or 200', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...OPERATIONS), fc.uint8Array({ maxLength: 2_000 }), async (op, bytes) => {
        expectWellFormed(await post(`secretsmanager.${op}`, Buffer.from(bytes)));
      }),
      { numRuns: 150 },
    );
  });

  it('huge and deeply nested bodies: 413, or a 400 for the nesting, and the server keeps serving', async () => {
    const huge = await post('secretsmanager.GetSecretValue', Buffer.alloc(MAX_BODY * 4, 'a'), { agent: false });
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).__type).toBe('RequestEntityTooLargeException');
    for (const depth of [1_000, 20_000]) {
      const deep = `{"SecretId":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const a = await post('secretsmanager.GetSecretValue', deep.slice(0, MAX_BODY));
      expectWellFormed(a);
      expect(a.status).toBe(400);
    }
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    expectWellFormed(await post('secretsmanager.ListSecrets', deepObject));
    const v = await h.client.send(new GetSecretValueCommand({ SecretId: existing }));
    expect(v.SecretString).toBe('{"password":"p"}');
  });

  it('2,000 concurrent loopback connections: every one answered, bounded memory', async () => {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) =>
        post(
          'secretsmanager.GetSecretValue',
          JSON.stringify({ SecretId: i % 2 ? existing : `missing-${i}` }),
          { agent: false }, // one TCP connection per request
        ),
      ),
    );
    const elapsed = Date.now() - started;
    const grewMb = (process.memoryUsage().rss - before) / 1e6;
    for (const a of answers) expectWellFormed(a);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1_000);
    expect(elapsed).toBeLessThan(45_000); // no hang (about 2 s on a quiet 2-core machine; CI runs other files beside it)
    expect(grewMb).toBeLessThan(300); // client and server in this process
    const v = await h.client.send(new GetSecretValueCommand({ SecretId: existing }));
    expect(v.SecretString).toBe('{"password":"p"}');
  });
});
