import { randomInt } from 'node:crypto';
import { invalidParameter } from './errors.js';

export interface RandomPasswordOptions {
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  ExcludeUppercase?: boolean;
  ExcludeLowercase?: boolean;
  IncludeSpace?: boolean;
  RequireEachIncludedType?: boolean;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
/** The punctuation set GetRandomPassword documents. */
export const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** GetRandomPassword with AWS's defaults: length 32, all four classes, no space, each class required. */
export function randomPassword(opts: RandomPasswordOptions): string {
  const length = opts.PasswordLength ?? 32;
  if (!Number.isInteger(length) || length < 1 || length > 4096) {
    throw invalidParameter('PasswordLength must be an integer between 1 and 4096.');
  }
  const excluded = new Set(opts.ExcludeCharacters ?? '');
  const keep = (chars: string): string => [...chars].filter((c) => !excluded.has(c)).join('');
  const classes: string[] = [];
  if (!opts.ExcludeLowercase) classes.push(keep(LOWER));
  if (!opts.ExcludeUppercase) classes.push(keep(UPPER));
  if (!opts.ExcludeNumbers) classes.push(keep(DIGITS));
  if (!opts.ExcludePunctuation) classes.push(keep(PUNCTUATION));
  if (opts.IncludeSpace) classes.push(keep(' '));
  const included = classes.filter((c) => c.length > 0);
  if (included.length === 0) {
    throw invalidParameter('The password must contain at least one character type. All types were excluded.');
  }
  const requireEach = opts.RequireEachIncludedType ?? true;
  if (requireEach && length < included.length) {
    throw invalidParameter('Password length is too short based on the required types.');
  }
  const all = included.join('');
  const chars: string[] = [];
  if (requireEach) for (const set of included) chars.push(pick(set));
  while (chars.length < length) chars.push(pick(all));
  // Fisher–Yates so the required characters are not always in front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

function pick(set: string): string {
  return set[randomInt(set.length)]!;
}
