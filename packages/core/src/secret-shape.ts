/**
 * Where a secret keeps each field: the RDS JSON keys, the keys named by `secretKeys` (dotted paths
 * into nested objects), or a connection URL (a key holding one, or the whole SecretString). Produces
 * the raw values with a label for messages; credentials.ts validates them. Never puts a value in a message.
 */
import { SecretFormatError } from './errors.js';
import type { SecretKeys } from './types.js';

/** The fields core reads from a secret. */
export const SECRET_FIELDS = ['username', 'password', 'host', 'port', 'dbname', 'engine', 'masterarn'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

/** The keys `secretKeys` accepts. */
export const SECRET_KEY_OPTIONS = ['username', 'password', 'host', 'port', 'dbname', 'engine', 'url'] as const;

/** One field as found: its value and how to name where it came from (never the value). */
export interface FoundField {
  value: unknown;
  /** The JSON key (or `url-key: part`), for `SecretFormatError.field`. */
  key: string;
  /** E.g. `field 'db.user'`, `the user in 'DATABASE_URL'`. */
  what: string;
}
export type FoundFields = Partial<Record<SecretField, FoundField>>;

/** `postgres://…`, `jdbc:mysql://…`: a SecretString (or a value) in URL form. */
const URL_FORM = /^\s*(?:jdbc:)?([a-z][a-z0-9+.-]*):\/\//i;

/** True when the whole SecretString is a connection URL rather than JSON. */
export function isConnectionUrl(text: string): boolean {
  return URL_FORM.test(text);
}

/** Validates the `secretKeys` option, reporting each problem through `bad`; undefined when absent or invalid. */
export function resolveSecretKeys(v: unknown, bad: (key: string, why: string) => void): SecretKeys | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    bad('secretKeys', "must be an object like { username: 'user', password: 'pass' } or { url: 'DATABASE_URL' }");
    return undefined;
  }
  const o = v as Record<string, unknown>;
  let problems = 0;
  const report = (key: string, why: string) => {
    problems++;
    bad(key, why);
  };
  for (const [k, value] of Object.entries(o)) {
    if (!(SECRET_KEY_OPTIONS as readonly string[]).includes(k))
      report(`secretKeys.${k}`, `unknown option (valid: ${SECRET_KEY_OPTIONS.join(', ')})`);
    else if (typeof value !== 'string' || value.length === 0)
      report(`secretKeys.${k}`, 'must be a non-empty string (a JSON key, or a dotted path such as db.user)');
  }
  if (o.url !== undefined && Object.keys(o).length > 1)
    report('secretKeys.url', 'give url alone (the URL holds user, password, host, port and database)');
  return problems === 0 ? (o as SecretKeys) : undefined;
}

/** The value at `path`: the exact key if the object has it, else the dotted path through nested objects. */
function at(obj: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(obj, path)) return obj[path];
  let cur: unknown = obj;
  for (const segment of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, segment)) return undefined;
    cur = (cur as Record<string, unknown>)[segment];
  }
  return cur;
}

/** The fields of a parsed JSON secret, at the RDS keys or where `keys` says. A named key must be present. */
export function fieldsFromJson(secretId: string, obj: Record<string, unknown>, keys?: SecretKeys): FoundFields {
  if (keys !== undefined && 'url' in keys) {
    const value = at(obj, keys.url);
    if (value === undefined || value === null)
      throw new SecretFormatError(secretId, `missing field '${keys.url}' (secretKeys.url)`, { field: keys.url });
    if (typeof value !== 'string')
      throw new SecretFormatError(secretId, `field '${keys.url}' must be a string (a connection URL)`, {
        field: keys.url,
      });
    return fieldsFromUrl(secretId, value, keys.url);
  }
  const named = (keys ?? {}) as Partial<Record<SecretField, string>>;
  const out: FoundFields = {};
  for (const field of SECRET_FIELDS) {
    const key = named[field] ?? field;
    const value = at(obj, key);
    if (named[field] !== undefined && (value === undefined || value === null)) {
      throw new SecretFormatError(secretId, `missing field '${key}' (secretKeys.${field})`, { field: key });
    }
    out[field] = { value, key, what: `field '${key}'` };
  }
  return out;
}

/**
 * The fields of a connection URL (`scheme://user:password@host:port/database`, optional `jdbc:`
 * prefix; query parameters ignored): percent-decoded, the scheme as `engine`. `source` names where
 * the URL came from ('SecretString' or its JSON key). The URL itself never enters a message.
 */
export function fieldsFromUrl(secretId: string, text: string, source: string): FoundFields {
  const scheme = URL_FORM.exec(text)?.[1];
  const where = `'${source}'`;
  if (scheme === undefined) {
    throw new SecretFormatError(secretId, `${where} is not a connection URL (scheme://user:password@host:port/db)`, {
      field: source,
    });
  }
  let url: URL;
  try {
    url = new URL(text.trim().replace(/^jdbc:/i, ''));
  } catch {
    // The parser's message quotes the input: do not chain it.
    throw new SecretFormatError(secretId, `${where} is not a valid URL`, { field: source });
  }
  const part = (name: string, raw: string): FoundField => {
    const what = `the ${name} in ${where}`;
    if (raw === '') return { value: undefined, key: source, what };
    try {
      return { value: decodeURIComponent(raw), key: source, what };
    } catch {
      throw new SecretFormatError(secretId, `${what} has invalid percent-encoding`, { field: source });
    }
  };
  // Brackets of an IPv6 literal are URL syntax, not part of the address the drivers take.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    username: part('user', url.username),
    password: part('password', url.password),
    host: part('host', host),
    port: { value: url.port || undefined, key: source, what: `the port in ${where}` },
    dbname: part('database', url.pathname.replace(/^\//, '')),
    engine: { value: scheme, key: source, what: `the scheme of ${where}` },
  };
}
