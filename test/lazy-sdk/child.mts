// ES module app: import '@dbcreds/pg', a source over the backend the parent names, one read.
import { createCredentialSource } from '@dbcreds/core';
import { createPool } from '@dbcreds/pg';

const source = createCredentialSource(JSON.parse(process.env.LAZY_SDK_SOURCE!));
const pool = createPool(source, { max: 1 });
try {
  const c = await source.get();
  console.log(JSON.stringify({ username: c.username }));
} catch (err) {
  // The app's own import of the SDK: core's lazily required copy must be the same module (instanceof).
  const { ResourceNotFoundException } = await import('@aws-sdk/client-secrets-manager');
  const sdkCause = (err as Error).cause instanceof ResourceNotFoundException;
  console.log(JSON.stringify({ error: (err as Error).name, sdkCause }));
} finally {
  await pool.end();
  source.close();
}
