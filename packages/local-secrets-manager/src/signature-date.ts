/**
 * AWS's request-time check: a SigV4 request whose `X-Amz-Date` is more than 5 minutes away from the
 * server's clock is refused with HTTP 400 `InvalidSignatureException` (the messages AWS sends). The
 * answer's `Date` header carries the server's clock, from which the AWS SDK corrects its offset
 * (`systemClockOffset`) and signs the next attempt with the server's time.
 */
import { ServiceError } from './errors.js';

export const MAX_SKEW_MS = 5 * 60_000;

/** `20261207T231500Z` (SigV4's basic ISO 8601). */
const amz = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Throws InvalidSignatureException when `amzDate` is more than 5 min off `now` (ms); no header (unsigned request): no check. */
export function checkSignatureDate(amzDate: string | undefined, now: number): void {
  if (amzDate === undefined) return;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (m === null)
    throw new ServiceError(
      'IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`,
    );
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const signed = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (signed < now - MAX_SKEW_MS) {
    throw new ServiceError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${amz(now - MAX_SKEW_MS)} (${amz(now)} - 5 min.)`,
    );
  }
  if (signed > now + MAX_SKEW_MS) {
    throw new ServiceError(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${amz(now + MAX_SKEW_MS)} (${amz(now)} + 5 min.)`,
    );
  }
}
