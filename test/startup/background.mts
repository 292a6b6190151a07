// A process whose only pending work is a stale-while-revalidate reload against a Secrets Manager that
// went away: it must exit during the reload's first backoff wait (stats printed at exit).
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { createCredentialSource } from '@dbcreds/core';
import { startTestSecretsManager } from '../src/secrets.ts';

const sm = await startTestSecretsManager();
const secret = { engine: 'postgres', host: '127.0.0.1', port: 5432, username: 'app', password: 'pw', dbname: 'app' };
await sm.client.send(new CreateSecretCommand({ Name: 'startup/db', SecretString: JSON.stringify(secret) }));
let now = Date.now();
const source = createCredentialSource({
  secretId: 'startup/db',
  clientConfig: {
    endpoint: sm.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  },
  clock: { now: () => now },
  ttlMs: 60_000,
  // A backoff wait of 5-10 minutes: held open, the process would outlive the test's deadline.
  retry: { maxAttempts: 3, baseDelayMs: 600_000, maxDelayMs: 600_000 },
});
await source.get();
await sm.close(); // from here every attempt is refused
now += 120_000; // past the TTL, within maxStaleMs: get() serves the stale value and reloads in the background
await source.get();
process.on('exit', () => {
  const { fetches, staleServed } = source.stats();
  console.log(JSON.stringify({ fetches, staleServed }));
});
