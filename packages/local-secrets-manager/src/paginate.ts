import { ServiceError, validation } from './errors.js';

const PREFIX = 'offset:';

/** One page of `items` from an opaque NextToken; MaxResults 1–`max` (AWS: 100, BatchGetSecretValue: 20). */
export function paginate<T>(
  items: T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
  max = 100,
): { items: T[]; nextToken?: string } {
  if (maxResults !== undefined && (maxResults < 1 || maxResults > max)) {
    throw validation(
      `1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${max}`,
    );
  }
  let start = 0;
  if (nextToken !== undefined) {
    const text = Buffer.from(nextToken, 'base64url').toString('utf8');
    const decoded = Number(text.slice(PREFIX.length));
    if (!text.startsWith(PREFIX) || !Number.isInteger(decoded) || decoded < 0) {
      throw new ServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
    }
    start = decoded;
  }
  const size = maxResults ?? max;
  const page = items.slice(start, start + size);
  const end = start + page.length;
  return end < items.length
    ? { items: page, nextToken: Buffer.from(`${PREFIX}${end}`).toString('base64url') }
    : { items: page };
}
