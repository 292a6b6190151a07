import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LAST_ROTATION_ERROR_TARGET } from '@dbcreds/local-secrets-manager';
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
 * A failed step leaves AWSPENDING in place on AWS too, so only the local Secrets Manager (which records
 * the failure) lets it stop early; against AWS it waits and names the function's CloudWatch log group.
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
    let lambdaArn: string | undefined;
    // The version has no stage until the function's createSecret step labels it AWSPENDING.
    let seenPending = false;
    while (Date.now() - started < args.timeoutMs) {
      const d = await client.send(new DescribeSecretCommand({ SecretId: args.secretId }));
      lambdaArn = d.RotationLambdaARN;
      const stages = d.VersionIdsToStages?.[versionId] ?? [];
      if (stages.includes('AWSCURRENT')) {
        io.out(`rotated: version ${versionId} is AWSCURRENT (${((Date.now() - started) / 1000).toFixed(1)}s)`);
        return 0;
      }
      const failure = local && endpoint ? await localFailure(endpoint, args.secretId, versionId) : undefined;
      if (failure) {
        io.err(
          `dbcreds rotate: rotation failed at ${failure.Step}: ${failure.Message}\n` +
            'The rotation stays unfinished until a reattempt succeeds (the next RotateSecret or the schedule, once the cause is fixed) or CancelRotateSecret.',
        );
        return 1;
      }
      if (stages.includes('AWSPENDING')) seenPending = true;
      else if (seenPending) {
        io.err(`dbcreds rotate: rotation failed: version ${versionId} lost AWSPENDING without becoming AWSCURRENT`);
        return 1;
      }
      await sleep(io.pollMs ?? 500);
    }
    io.err(
      `dbcreds rotate: version ${versionId} is not AWSCURRENT after ${args.timeoutMs / 1000}s (the rotation is unfinished or failed; AWSPENDING stays on it).\n${rotationLogHint(lambdaArn, region, local)}`,
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

interface LocalFailure {
  Step: string;
  Message: string;
  VersionId: string;
}

/**
 * The local Secrets Manager's record of this version's failed rotation; undefined when there is none or
 * the endpoint is another emulator (which answers the non-AWS operation with an error).
 */
async function localFailure(endpoint: string, secretId: string, versionId: string): Promise<LocalFailure | undefined> {
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': LAST_ROTATION_ERROR_TARGET },
      body: JSON.stringify({ SecretId: secretId }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) return undefined;
    const failure = ((await res.json()) as { Failure?: LocalFailure }).Failure;
    return failure?.VersionId === versionId ? failure : undefined;
  } catch {
    return undefined;
  }
}

/** Where a rotation function logs: the Lambda's CloudWatch log group, or the `local-sm` terminal. */
export function rotationLogHint(lambdaArn: string | undefined, region: string, local: boolean): string {
  if (local) return "Check the terminal running 'dbcreds local-sm' (rotation failures are printed there).";
  const fn = lambdaArn?.split(':')[6];
  if (!fn) return 'The secret has no rotation function (RotationLambdaARN) configured.';
  const logRegion = lambdaArn?.split(':')[3] || region;
  return `Check the rotation function's logs: CloudWatch log group /aws/lambda/${fn} (${logRegion}), e.g. aws logs tail /aws/lambda/${fn} --region ${logRegion} --since 10m`;
}
