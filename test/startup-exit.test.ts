/**
 * A new app's first call with Secrets Manager unreachable must settle (reject) before the process
 * exits, in CommonJS (then callbacks) and in an ES module (top-level await), for core and every
 * adapter: core's retry waits are unref'd timers, so the awaited call itself holds the process open.
 * And the reverse: background work (a stale-while-revalidate reload) must not hold a finished process.
 * Each case is a child process (tsx, sources through tsconfig paths) against a closed port.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENTRIES } from './startup/entries.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Hang detection only: a child normally exits in 1-3 s (mostly tsx's startup), more on a busy machine. */
const DEADLINE_MS = 150_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const deadline = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `jobs` at most `limit` at a time (the machine's cores are shared). */
async function pooled<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) results[i] = await jobs[i]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The child's last stdout line as JSON; null when it printed nothing (it exited before its handler ran). */
const lastLine = (s: string) => (s.trim() === '' ? null : (JSON.parse(s.trim().split('\n').at(-1)!) as unknown));

describe('startup with Secrets Manager unreachable (child processes)', () => {
  it(
    'every entry point rejects with SecretFetchError (cause ECONNREFUSED) and the process exits non-zero, in CommonJS and ESM',
    async () => {
      // Prepare
      const port = await closedPort();
      const env = { AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${port}` };
      const cases = ENTRIES.flatMap((name) => (['cts', 'mts'] as const).map((format) => ({ name, format })));

      // Act
      const exits = await pooled(
        cases.map(
          ({ name, format }) =>
            () =>
              runChild([`test/startup/child.${format}`, name, '127.0.0.1', String(port)], env),
        ),
        4,
      );

      // Assess: the rejection handler ran (its line), then the process exited with the handler's code.
      const seen = cases.map((c, i) => ({ ...c, code: exits[i]!.code, result: lastLine(exits[i]!.stdout) }));
      const expected = cases.map((c) => ({
        ...c,
        code: 3,
        result: {
          settled: 'rejected',
          // Prisma rethrows its own error with the code and message (ECONNREFUSED in it) of the adapter's.
          chain:
            c.name === 'prisma'
              ? [{ name: 'PrismaClientKnownRequestError', code: 'DBCREDS_SECRET_FETCH', refused: true }]
              : [
                  { name: 'SecretFetchError', code: 'DBCREDS_SECRET_FETCH', refused: true },
                  { name: 'Error', code: 'ECONNREFUSED', refused: true },
                ],
        },
      }));
      expect(seen).toEqual(expected);
    },
    20 * DEADLINE_MS,
  );

  it(
    'a background reload against an unreachable Secrets Manager does not hold a finished process open',
    async () => {
      // Act
      const exit = await runChild(['test/startup/background.mts'], {});

      // Assess: exited by itself (no signal), after the first reload attempt and before its second
      // (the backoff wait between them is 5-10 minutes): fetches = the initial read + one attempt.
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
      expect(lastLine(exit.stdout)).toEqual({ fetches: 2, staleServed: 1 });
    },
    2 * DEADLINE_MS,
  );
});
