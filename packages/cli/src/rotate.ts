import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotateArgs } from './args.js';

export interface RotateIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Polling interval while waiting, in ms. Default 500. */
  pollMs?: number;
}

/**
 * `dbcreds rotate`: RotateSecret with the secret's configured rotation function, then waits until
 * the new version carries AWSCURRENT. Resolves with the exit status (0 rotated, 1 failed/timed out).
 */
export async function runRotate(args: RotateArgs, io: RotateIo): Promise<number> {
  const endpoint =
    args.endpoint ?? process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? process.env.AWS_ENDPOINT_URL ?? undefined;
  const region = args.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  // A loopback endpoint is the local Secrets Manager, which does not check signatures: spare the
  // user from inventing credentials when none are configured.
  const local = endpoint !== undefined && /^https?:\/\/(127\.|localhost|\[::1\])/.test(endpoint);
  const dummy = local && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
  const client = new SecretsManagerClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(dummy ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  const started = Date.now();
  try {
    const out = await client.send(new RotateSecretCommand({ SecretId: args.secretId, RotateImmediately: true }));
    const versionId = out.VersionId;
    if (!versionId) {
      io.err(`dbcreds rotate: RotateSecret returned no VersionId for ${args.secretId}`);
      return 1;
    }
    io.out(`RotateSecret accepted: ${out.ARN ?? args.secretId}, new version ${versionId}`);
    while (Date.now() - started < args.timeoutMs) {
      const d = await client.send(new DescribeSecretCommand({ SecretId: args.secretId }));
      const stages = d.VersionIdsToStages?.[versionId] ?? [];
      if (stages.includes('AWSCURRENT')) {
        io.out(`rotated: version ${versionId} is AWSCURRENT (${((Date.now() - started) / 1000).toFixed(1)}s)`);
        return 0;
      }
      if (!stages.includes('AWSPENDING')) {
        io.err(`dbcreds rotate: rotation failed: version ${versionId} lost AWSPENDING without becoming AWSCURRENT`);
        return 1;
      }
      await sleep(io.pollMs ?? 500);
    }
    io.err(
      `dbcreds rotate: version ${versionId} is not AWSCURRENT after ${args.timeoutMs / 1000}s; check the rotation function's logs`,
    );
    return 1;
  } catch (err) {
    const e = err as { name?: string; message?: string };
    io.err(`dbcreds rotate: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
    return 1;
  } finally {
    client.destroy();
  }
}
