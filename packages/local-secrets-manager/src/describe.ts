import { secs } from './inputs.js';
import type { RotationRulesInput, SecretRecord } from './store.js';

/** DescribeSecret / ListSecrets fields shared by both, without the version map. */
export function summary(secret: SecretRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
  if (secret.description !== undefined) out.Description = secret.description;
  if (secret.kmsKeyId !== undefined) out.KmsKeyId = secret.kmsKeyId;
  const r = secret.rotation;
  if (r) {
    out.RotationEnabled = r.enabled;
    if (r.lambdaArn !== undefined) out.RotationLambdaARN = r.lambdaArn;
    if (r.rules) out.RotationRules = reportedRules(r.rules);
    if (r.lastRotatedDate !== undefined) out.LastRotatedDate = secs(r.lastRotatedDate);
    if (r.enabled && r.nextRotationDate !== undefined) out.NextRotationDate = secs(r.nextRotationDate);
  }
  out.LastChangedDate = secs(secret.lastChangedDate);
  if (secret.lastAccessedDate !== undefined) out.LastAccessedDate = secs(secret.lastAccessedDate);
  if (secret.deletedDate !== undefined) out.DeletedDate = secs(secret.deletedDate);
  if (secret.tags.length > 0) out.Tags = secret.tags.map((t) => ({ ...t }));
  if (secret.owningService !== undefined) out.OwningService = secret.owningService;
  out.CreatedDate = secs(secret.createdDate);
  return out;
}

/** AWS also reports `AutomaticallyAfterDays` for a `rate(N days)` schedule. */
function reportedRules(rules: RotationRulesInput): RotationRulesInput {
  const out = { ...rules };
  const days = /^rate\(\s*(\d+)\s+days?\s*\)$/i.exec(rules.ScheduleExpression ?? '');
  if (days && out.AutomaticallyAfterDays === undefined) out.AutomaticallyAfterDays = Number(days[1]);
  return out;
}

/** Version id → labels for labelled versions; `undefined` when there is none (AWS omits the member). */
export function versionsToStages(secret: SecretRecord): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {};
  for (const v of secret.versions) if (v.stages.length > 0) out[v.versionId] = [...v.stages];
  return Object.keys(out).length > 0 ? out : undefined;
}
