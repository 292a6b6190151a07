import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeExampleSmoke } from '@dbcreds/testbed';
import { freePort, type NotesServer } from 'dbcreds/testing';
import { beforeAll } from 'vitest';

// The app as users run it: compiled by tsc to CommonJS (dist/), started with node in a child process,
// so @dbcreds/typeorm comes through its "require" export (packages/typeorm/dist/cjs), not the sources.
const dir = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../../../node_modules/.bin/tsc', import.meta.url));

beforeAll(async () => {
  await promisify(execFile)(tsc, ['-p', 'tsconfig.json'], { cwd: dir });
}, 120_000);

async function serve(env: Readonly<Record<string, string>>): Promise<NotesServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = once(child, 'exit');
  const deadline = Date.now() + 60_000;
  while (!output.includes('notes service on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the NestJS app did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const loaded = /@dbcreds\/typeorm loaded from (\S+)/.exec(output)?.[1];
  if (!loaded?.endsWith('/packages/typeorm/dist/cjs/index.js')) {
    child.kill('SIGTERM');
    throw new Error(`the app must load @dbcreds/typeorm's CommonJS build, it loaded ${loaded}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describeExampleSmoke({ library: 'nestjs', serve: (stack) => serve(stack.env) });
