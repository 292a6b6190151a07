import type { OperationContext, OperationRegistry } from '../context.js';
import { ServiceError } from '../errors.js';
import { bool, checkLength, str } from '../validate.js';

const s = 'string' as const;

/**
 * PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy, ValidateResourcePolicy. The document is
 * checked for IAM policy grammar and broad access, stored and returned; it is never evaluated (no IAM here).
 */
export function registerPolicyOperations(ops: OperationRegistry, ctx: OperationContext): void {
  ops.define(
    'PutResourcePolicy',
    { SecretId: [s, true], ResourcePolicy: [s, true], BlockPublicPolicy: ['boolean', false] },
    (x) => {
      checkLength(x, 'ResourcePolicy', 1, 20_480);
      const policy = str(x, 'ResourcePolicy')!;
      const secret = ctx.liveSecret(str(x, 'SecretId')!);
      const problems = policyProblems(policy);
      if (problems.length > 0) throw new ServiceError('MalformedPolicyDocumentException', problems[0]!);
      if ((bool(x, 'BlockPublicPolicy') ?? false) && grantsPublicAccess(policy)) {
        throw new ServiceError(
          'PublicPolicyException',
          'BlockPublicPolicy is set and this resource policy grants broad access to the secret (a wildcard principal without a condition).',
        );
      }
      secret.resourcePolicy = policy;
      ctx.touch(secret);
      ctx.store.save();
      return { ARN: secret.arn, Name: secret.name };
    },
  );
  ops.define('GetResourcePolicy', { SecretId: [s, true] }, (x) => {
    const secret = ctx.secret(str(x, 'SecretId')!);
    const out: Record<string, unknown> = { ARN: secret.arn, Name: secret.name };
    if (secret.resourcePolicy !== undefined) out.ResourcePolicy = secret.resourcePolicy;
    return out;
  });
  ops.define('DeleteResourcePolicy', { SecretId: [s, true] }, (x) => {
    const secret = ctx.liveSecret(str(x, 'SecretId')!);
    delete secret.resourcePolicy;
    ctx.touch(secret);
    ctx.store.save();
    return { ARN: secret.arn, Name: secret.name };
  });
  ops.define('ValidateResourcePolicy', { SecretId: [s, false], ResourcePolicy: [s, true] }, (x) => {
    checkLength(x, 'ResourcePolicy', 1, 20_480);
    const secretId = str(x, 'SecretId');
    if (secretId !== undefined) ctx.secret(secretId);
    const problems = policyProblems(str(x, 'ResourcePolicy')!);
    return {
      PolicyValidationPassed: problems.length === 0,
      ValidationErrors: problems.map((ErrorMessage) => ({ CheckName: 'SYNTAX_CHECK', ErrorMessage })),
    };
  });
}

type Statement = Record<string, unknown>;

function statements(policy: string): Statement[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    return 'This resource policy contains a syntax error: it is not valid JSON.';
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'The policy must be a JSON object.';
  const raw = (doc as Record<string, unknown>).Statement;
  if (raw === undefined) return 'The policy is missing the required Statement element.';
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((st) => st !== null && typeof st === 'object' && !Array.isArray(st))) {
    return 'Statement must be an object or a non-empty list of objects.';
  }
  return list as Statement[];
}

/** The grammar checks IAM applies to a resource policy, as readable messages (empty: valid). */
export function policyProblems(policy: string): string[] {
  const list = statements(policy);
  if (typeof list === 'string') return [list];
  const version = (JSON.parse(policy) as Record<string, unknown>).Version;
  const problems: string[] = [];
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    problems.push(`The policy Version ${String(version)} is not supported (use 2012-10-17).`);
  }
  list.forEach((st, i) => {
    const n = i + 1;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') problems.push(`Statement ${n}: Effect must be Allow or Deny.`);
    if ((st.Action === undefined) === (st.NotAction === undefined)) {
      problems.push(`Statement ${n}: exactly one of Action and NotAction is required.`);
    }
    if ((st.Principal === undefined) === (st.NotPrincipal === undefined)) {
      problems.push(`Statement ${n}: a resource policy needs exactly one of Principal and NotPrincipal.`);
    }
  });
  return problems;
}

/** Allow to everyone (`"*"` or `{"AWS": "*"}`) without a Condition: what BlockPublicPolicy refuses. */
function grantsPublicAccess(policy: string): boolean {
  const list = statements(policy);
  if (typeof list === 'string') return false;
  return list.some((st) => {
    if (st.Effect !== 'Allow' || st.Condition !== undefined) return false;
    const p = st.Principal;
    if (p === '*') return true;
    const aws = p !== null && typeof p === 'object' ? (p as Record<string, unknown>).AWS : undefined;
    return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
  });
}
