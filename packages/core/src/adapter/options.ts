import { ConfigurationError } from '../errors.js';
import { unknownKeyHint } from '../suggest.js';

/** What `checkOptions` enforces on one options object. */
export interface OptionRules {
  /** Every key allowed; any other own key is reported as unknown. Omit to allow any key. */
  allowed?: readonly string[];
  /** Keys that must not be set (own key with a value other than `undefined`). */
  forbidden?: readonly string[];
  /** Why the forbidden keys are rejected, appended to the message. */
  why?: string;
  /** Prefix of the reported key paths, e.g. `'connection.'` or `'replicas[0].'`. */
  prefix?: string;
}

/** Own keys of `obj` among `names` whose value is not `undefined`, each prefixed with `prefix`. */
export function presentKeys(obj: object | null | undefined, names: readonly string[], prefix = ''): string[] {
  if (obj === null || obj === undefined || typeof obj !== 'object') return [];
  const rec = obj as Record<string, unknown>;
  return names.filter((k) => Object.hasOwn(rec, k) && rec[k] !== undefined).map((k) => prefix + k);
}

/** Throws `ConfigurationError('@dbcreds/<pkg>: <keys> <why>', { keys })` when `keys` is non-empty. */
export function forbidKeys(pkg: string, keys: readonly string[], why: string): void {
  if (keys.length > 0) throw new ConfigurationError(`@dbcreds/${pkg}: ${keys.join(', ')} ${why}`, { keys });
}

/**
 * The one option check of every adapter: `value` must be a plain object (`what` names it in the
 * message); unknown keys (when `allowed` is given) and forbidden keys are each reported in one
 * `ConfigurationError` listing all of them, message `@dbcreds/<pkg>: …`.
 */
export function checkOptions(pkg: string, value: unknown, what: string, rules: OptionRules = {}): void {
  const prefix = rules.prefix ?? '';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`@dbcreds/${pkg}: ${what} must be an object`, {
      keys: prefix ? [prefix.replace(/\.$/, '')] : [],
    });
  }
  if (rules.allowed !== undefined) {
    const allowed = rules.allowed;
    const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
    const hints = unknown.flatMap((k) => {
      const hint = unknownKeyHint(k, allowed);
      return hint === '' ? [] : [`${prefix}${k}${hint}`];
    });
    forbidKeys(
      pkg,
      unknown.map((k) => prefix + k),
      `${unknown.length === 1 ? 'is not an option' : 'are not options'} of ${what} (allowed: ${allowed.join(', ') || 'none'})${hints.length > 0 ? `; ${hints.join(', ')}` : ''}`,
    );
  }
  if (rules.forbidden !== undefined) {
    const bad = presentKeys(value, rules.forbidden, prefix);
    forbidKeys(pkg, bad, `must not be set${rules.why ? `: ${rules.why}` : ''}`);
  }
}
