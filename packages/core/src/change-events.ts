/**
 * Change events: the Secrets Manager events EventBridge derives from CloudTrail that mean a secret's
 * value or staging labels changed, and the sources they invalidate. Pure functions over the event
 * JSON (no AWS SDK): a Lambda target passes its event, an SQS consumer its messages.
 */
import type { CredentialSource } from './types.js';

/** CloudTrail event names after which AWSCURRENT (or AWSPENDING) may hold another version. */
export const SECRET_CHANGE_EVENT_NAMES = ['PutSecretValue', 'UpdateSecretVersionStage', 'RotationSucceeded'] as const;

/** The EventBridge rule's event pattern for them (all secrets of the account and region; the handler filters by secret). */
export const SECRET_CHANGE_EVENT_PATTERN = {
  source: ['aws.secretsmanager'],
  'detail-type': ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'],
  detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: [...SECRET_CHANGE_EVENT_NAMES] },
} as const;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The secrets (ARNs and the ids callers passed) a change event is about; [] for any other event.
 * Takes an EventBridge event, an SQS event whose message bodies are EventBridge events (`Records`),
 * or one such body as a string.
 */
export function changedSecretIds(event: unknown): string[] {
  if (typeof event === 'string') return changedSecretIds(safeParse(event));
  const records = obj(event)?.Records;
  if (Array.isArray(records)) return [...new Set(records.flatMap((r) => changedSecretIds(obj(r)?.body)))];
  const e = obj(event);
  const d = obj(e?.detail);
  if (e?.source !== 'aws.secretsmanager' || d === undefined) return [];
  if (!(SECRET_CHANGE_EVENT_NAMES as readonly unknown[]).includes(d.eventName)) return [];
  const req = obj(d.requestParameters);
  const res = obj(d.responseElements);
  // Before February 2024 some events spelled the response's ARN `aRN`; RotationSucceeded carries it in additionalEventData.
  const ids = [res?.arn, res?.aRN, obj(d.additionalEventData)?.SecretId, req?.secretId].map(str);
  return [...new Set(ids.filter((v) => v !== undefined))];
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/**
 * Whether `secretId` (a source's: name, full ARN, or ARN without the 6-character suffix) names the
 * secret an event id names (a full ARN, or the name or ARN the caller passed).
 */
export function sameSecret(secretId: string, eventId: string): boolean {
  if (secretId === eventId) return true;
  const full = /^(arn:[^:]+:secretsmanager:[^:]*:\d*:secret:)(.+)-[A-Za-z0-9]{6}$/.exec(eventId);
  if (full === null) return false;
  // A partial ARN (no suffix), or a plain name matching the name part.
  return secretId === `${full[1]}${full[2]}` || secretId === full[2];
}

/**
 * Calls `invalidate()` on each source whose secret the event names (see changedSecretIds for the
 * shapes it takes); returns those sources. The sources rate-limit and single-flight the reads.
 */
export function invalidateOnSecretEvent(
  event: unknown,
  sources: CredentialSource | readonly CredentialSource[],
): CredentialSource[] {
  const ids = changedSecretIds(event);
  const list = Array.isArray(sources) ? sources : [sources as CredentialSource];
  const hit = list.filter((s) => ids.some((id) => sameSecret(s.secretId, id)));
  for (const s of hit) s.invalidate();
  return hit;
}
