/** What every benchmark's command line shares: integer flags, signals, the JSON report. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));

/** `--<name> <v>` as an integer ≥ `min`, or `fallback` when absent. */
export function int(name: string, v: string | undefined, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

/**
 * Strict flags: `--<name> <value>` for each of `names` (as strings in `v`), the boolean `switches`,
 * `--no-write` and `--help`. With `--help`: prints `help` and returns undefined.
 */
export function parseFlags<S extends string = never>(
  names: readonly string[],
  help: string,
  switches: readonly S[] = [],
): { v: Record<string, string | undefined>; values: { [K in S | 'no-write']?: boolean } } | undefined {
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])),
      ...Object.fromEntries(switches.map((n) => [n, { type: 'boolean' as const }])),
      'no-write': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return undefined;
  }
  return {
    v: values as Record<string, string | undefined>,
    values: values as { [K in S | 'no-write']?: boolean },
  };
}

/** Ctrl-C / kill: leave through process.exit so the embedded PostgreSQL's 'exit' listener stops it. */
export function exitOnSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => process.exit(code));
  }
}

/** The checkout's short commit, or 'unknown'. */
export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown'; // not a git checkout
  }
}

/**
 * Writes `{ date, commit, machine, ...body }` as JSON to `out` (default
 * bench/results/<name>-<date>.json); returns the file and the header written.
 */
export async function writeReport(
  name: string,
  out: string | undefined,
  body: Record<string, unknown>,
): Promise<{ file: string; date: string; commit: string }> {
  const date = new Date().toISOString();
  const file = out ?? join(HERE, 'results', `${name}-${date.slice(0, 10)}.json`);
  const commit = gitCommit();
  const { machine, ...rest } = body;
  const report = {
    date,
    commit,
    machine: { cpus: cpus().length, node: process.version, ...(machine as object | undefined) },
    ...rest,
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}`);
  return { file, date, commit };
}
