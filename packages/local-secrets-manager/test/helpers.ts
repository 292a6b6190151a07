import { request } from 'node:http';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type LocalSecretsManager, type LocalSecretsManagerOptions, startLocalSecretsManager } from '../src/index.js';

export interface Harness {
  sm: LocalSecretsManager;
  client: SecretsManagerClient;
  close(): Promise<void>;
}

/** A local SM plus the real SDK client pointed at it (dummy credentials, us-east-1, no retries). */
export async function startHarness(options: LocalSecretsManagerOptions = {}): Promise<Harness> {
  const sm = await startLocalSecretsManager(options);
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: sm.endpoint,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  return {
    sm,
    client,
    close: async () => {
      client.destroy();
      await sm.close();
    },
  };
}

export const uniqueName = (prefix = 'lsm-test'): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** A ClientRequestToken (32–64 chars). */
export const token = (label: string): string => `${label}-${'0'.repeat(32)}`.slice(0, 40);

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => any;
}

/** One raw HTTP request (for malformed input the SDK would never send). */
export function rawRequest(
  endpoint: string,
  opts: { method?: string; target?: string; body?: string | Buffer; headers?: Record<string, string> },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', ...opts.headers };
    if (opts.target) headers['x-amz-target'] = opts.target;
    const req = request(`${endpoint}/`, { method: opts.method ?? 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('raw request timed out')));
    req.end(opts.body);
  });
}

/** The error a call fails with (name and message); throws if it succeeds. */
export async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('expected the call to fail');
}
