/**
 * Hints for an unknown option key: AWS SDK client settings given at the top level (they belong in
 * `clientConfig`), and "did you mean" for a key that differs from an allowed one in case or by a
 * typo or two (Damerau-Levenshtein distance, scaled to the key's length).
 */
const CLIENT_SETTINGS = new Set(['region', 'endpoint', 'credentials', 'profile', 'maxAttempts', 'requestHandler']);

/** ` (did you mean 'secretId'?)`, ` (an AWS SDK client setting: use clientConfig: { region })`, or ''. */
export function unknownKeyHint(key: string, allowed: readonly string[]): string {
  if (allowed.includes('clientConfig') && CLIENT_SETTINGS.has(key))
    return ` (an AWS SDK client setting: use clientConfig: { ${key} })`;
  const match = closestKey(key, allowed);
  return match === undefined ? '' : ` (did you mean '${match}'?)`;
}

/**
 * The allowed key equal to `key` ignoring case, else the only one it begins, else the nearest within
 * 1 edit (2 for keys of 6+ chars).
 */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const same = allowed.find((k) => k.toLowerCase() === lower);
  if (same !== undefined) return same;
  // A unit or suffix left off: ttl → ttlMs.
  const longer = lower.length >= 3 ? allowed.filter((k) => k.toLowerCase().startsWith(lower)) : [];
  if (longer.length === 1) return longer[0];
  const limit = key.length >= 6 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of allowed) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
