/**
 * Micro-benchmark of the cache-hit path of `source.get()` (@dbcreds/core), with peers measured in
 * the same process and run:
 *   - `Map.get` behind `await` (the floor for any async cache API) and a synchronous `Map.get`;
 *   - AWS Lambda Powertools `SecretsProvider.get(id, { maxAge })` (what `getSecret` calls) with a warm cache;
 *   - `source.withAuthRetry(noop)`: the per-acquisition cost adapters pay.
 * Secrets come from the project's local Secrets Manager through the real AWS SDK (one fetch each; every
 * measured call is a cache hit, checked by counting GetSecretValue).
 *
 * Run: `pnpm --filter @dbcreds/bench bench:core` (env BENCH_MS per round, default 400; BENCH_ROUNDS, default 7).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createCredentialSource } from '@dbcreds/core';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { putDbSecret } from '@dbcreds/testbed';

if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  console.log(
    'Usage: npm run bench -- core   (env BENCH_MS: ms per round, default 400; BENCH_ROUNDS: rounds, default 7)',
  );
  process.exit(0);
}
const ROUND_MS = Number(process.env.BENCH_MS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BATCH = 1000;

interface Case {
  name: string;
  note: string;
  run: (n: number) => Promise<unknown> | unknown;
}

async function measure(c: Case): Promise<number[]> {
  const samples: number[] = [];
  await c.run(BATCH * 20); // warm-up (JIT)
  for (let r = 0; r < ROUNDS; r++) {
    let ops = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      await c.run(BATCH);
      ops += BATCH;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    samples.push((ops / elapsed) * 1000);
  }
  return samples;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const sm = await startLocalSecretsManager({ port: 0 });
  const clientConfig = {
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  };
  const admin = new SecretsManagerClient({ ...clientConfig, maxAttempts: 1 });
  const secretId = 'bench/core-get';
  const secretValue = {
    engine: 'postgres' as const,
    host: '127.0.0.1',
    port: 5432,
    username: 'app',
    password: 'bench-pw',
  };
  await putDbSecret(admin, secretId, secretValue);

  const source = createCredentialSource({ secretId, clientConfig });
  await source.get();

  const { SecretsProvider } = await import('@aws-lambda-powertools/parameters/secrets');
  const provider = new SecretsProvider({ clientConfig });
  await provider.get(secretId, { maxAge: 3600, transform: 'json' });

  const map = new Map<string, unknown>([[secretId, secretValue]]);
  let sink: unknown;

  const cases: Case[] = [
    {
      name: 'Map.get (sync)',
      note: 'baseline: no promise at all',
      run(n) {
        for (let i = 0; i < n; i++) sink = map.get(secretId);
      },
    },
    {
      name: 'await Map.get',
      note: 'baseline: floor of any async cache API',
      async run(n) {
        for (let i = 0; i < n; i++) sink = await map.get(secretId);
      },
    },
    {
      name: '@dbcreds/core source.get()',
      note: 'cache hit (TTL 1 h)',
      async run(n) {
        for (let i = 0; i < n; i++) sink = await source.get();
      },
    },
    {
      name: '@dbcreds/core withAuthRetry(noop)',
      note: 'get() + try/catch wrapper, no error',
      async run(n) {
        for (let i = 0; i < n; i++) sink = await source.withAuthRetry(async (c) => c.username);
      },
    },
    {
      name: 'Powertools SecretsProvider.get',
      note: "cache hit (maxAge 3600 s, transform 'json')",
      async run(n) {
        for (let i = 0; i < n; i++) sink = await provider.get(secretId, { maxAge: 3600, transform: 'json' });
      },
    },
  ];

  sm.resetCounters();
  const results: Array<{ c: Case; opsPerSec: number; min: number; max: number }> = [];
  for (const c of cases) {
    const s = await measure(c);
    results.push({ c, opsPerSec: median(s), min: Math.min(...s), max: Math.max(...s) });
  }
  const smCalls = sm.callCount('GetSecretValue');
  void sink;

  const core = results.find((r) => r.c.name === '@dbcreds/core source.get()')!.opsPerSec;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows = results.map((r) => [
    r.c.name,
    fmt(r.opsPerSec),
    `${fmt(r.min)}–${fmt(r.max)}`,
    (1e9 / r.opsPerSec).toFixed(1),
    `${(r.opsPerSec / core).toFixed(2)}×`,
    r.c.note,
  ]);
  const head = ['case', 'ops/s (median)', `range (${ROUNDS} rounds)`, 'ns/op', 'vs core get()', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\nbench/core-get: Node ${process.version}, ${ROUNDS} rounds × ${ROUND_MS} ms, batches of ${BATCH}\n`);
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`\nGetSecretValue calls during measurement: ${smCalls} (expected 0: all cache hits)`);
  console.log(`core stats: ${JSON.stringify(source.stats())}`);

  source.close();
  admin.destroy();
  provider.client.destroy();
  await sm.close();
  if (smCalls !== 0) process.exitCode = 1;
}

await main();
