import { validation } from './errors.js';
import type { SecretRecord } from './store.js';
import type { Input } from './validate.js';

/** One ListSecrets / BatchGetSecretValue filter, validated. */
export interface Filter {
  key: string;
  values: string[];
}

const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];
/** API reference, Filter.Values: `^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`, at most 512 characters. */
const VALUE_RE = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/;

/** Reads `Filters` with AWS's constraints (≤ 10 filters, 1–10 values each, the documented value pattern). */
export function readFilters(x: Input): Filter[] {
  const raw = x.Filters as unknown[] | undefined;
  if (!raw) return [];
  if (raw.length > 10) throw validation('You can specify at most 10 filters.');
  return raw.map((f, i) => {
    const filter = f as { Key?: unknown; Values?: unknown } | null;
    if (!filter || typeof filter.Key !== 'string' || !FILTER_KEYS.includes(filter.Key)) {
      throw validation(
        `1 validation error detected: Value at 'filters.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`,
      );
    }
    const values = filter.Values ?? [];
    if (!Array.isArray(values) || values.length < 1 || values.length > 10) {
      throw validation(
        `1 validation error detected: Value at 'filters.${i + 1}.member.values' failed to satisfy constraint: Member must have length between 1 and 10`,
      );
    }
    for (const v of values) {
      if (typeof v !== 'string' || v.length > 512 || !VALUE_RE.test(v)) {
        throw validation(
          `1 validation error detected: Value '[${String(v)}]' at 'filters.${i + 1}.member.values' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 512, Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$]`,
        );
      }
    }
    return { key: filter.Key, values: values as string[] };
  });
}

/**
 * Words as the console search splits them: runs of letters or digits, also cut where lowercase turns
 * to uppercase (`credsDatabase#892` → creds, Database, 892).
 */
export function words(text: string): string[] {
  return text.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [];
}

const lower = (s: string): string => s.toLowerCase();

/** The attribute values a filter key looks at. */
function attributes(s: SecretRecord, key: string): string[] {
  switch (key) {
    case 'name':
      return [s.name];
    case 'description':
      return s.description === undefined ? [] : [s.description];
    case 'tag-key':
      return s.tags.map((t) => t.Key);
    case 'tag-value':
      return s.tags.map((t) => t.Value);
    case 'primary-region':
      // A replica names its primary's region; a replicated primary its own (the ARN's); others have none.
      if (s.primaryRegion !== undefined) return [s.primaryRegion];
      return s.replicas?.length ? [s.arn.split(':')[3]!] : [];
    case 'owning-service':
      return s.owningService === undefined ? [] : [s.owningService];
    default:
      return ['name', 'description', 'tag-key', 'tag-value', 'owning-service'].flatMap((k) => attributes(s, k));
  }
}

/**
 * AWS's documented matching: name, tag-key, tag-value, primary-region, owning-service are
 * case-sensitive prefixes; description is case-insensitive and matches the start of the description
 * or of any word in it (the API reference says "prefix", the user guide "words": this satisfies both);
 * `all` splits the value into words and matches any of them, case-insensitively, against the start of
 * any word of any attribute. A value starting with `!` negates.
 */
export function matchesFilter(s: SecretRecord, f: Filter): boolean {
  const candidates = attributes(s, f.key);
  return f.values.some((raw) => {
    const negate = raw.startsWith('!');
    const value = negate ? raw.slice(1) : raw;
    let hit: boolean;
    if (f.key === 'all') {
      const pool = candidates.flatMap((c) => words(c).map(lower));
      hit = words(value).some((w) => pool.some((c) => c.startsWith(lower(w))));
    } else if (f.key === 'description') {
      const v = lower(value);
      hit = candidates.some((c) => lower(c).startsWith(v) || words(c).some((w) => lower(w).startsWith(v)));
    } else {
      hit = candidates.some((c) => c.startsWith(value));
    }
    return negate ? !hit : hit;
  });
}
