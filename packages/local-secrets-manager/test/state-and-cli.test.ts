import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliArgs, runLocalSecretsManagerCli, startLocalSecretsManager } from '../src/index.js';
import { startHarness, uniqueName } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lsm-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stateFile', () => {
  it('survives a restart, with labels, ARN and dates intact', async () => {
    const stateFile = join(dir, 'state.json');
    const first = await startHarness({ stateFile });
    const name = uniqueName();
    const created = await first.client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    const put = await first.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two' }));
    const before = await first.client.send(new DescribeSecretCommand({ SecretId: name }));
    await first.close();
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]); // temp file renamed away

    const second = await startHarness({ stateFile });
    try {
      const after = await second.client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
      expect(after.VersionIdsToStages).toEqual({
        [created.VersionId!]: ['AWSPREVIOUS'],
        [put.VersionId!]: ['AWSCURRENT'],
      });
      expect(after.CreatedDate).toEqual(before.CreatedDate);
      const got = await second.client.send(new GetSecretValueCommand({ SecretId: name }));
      expect(got.SecretString).toBe('two');
    } finally {
      await second.close();
    }
  });

  it('refuses to start on a corrupt or foreign state file', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"not":');
    await expect(startLocalSecretsManager({ stateFile: bad })).rejects.toThrow(/cannot read state file/);
    writeFileSync(bad, '{"secrets": []}');
    await expect(startLocalSecretsManager({ stateFile: bad })).rejects.toThrow(
      /not a local-secrets-manager state file/,
    );
  });

  it('rejects unknown and invalid options', async () => {
    await expect(startLocalSecretsManager({ prot: 1 } as never)).rejects.toThrow(/Unknown option "prot"/);
    await expect(startLocalSecretsManager({ port: -1 })).rejects.toThrow(/port/);
    await expect(startLocalSecretsManager({ rotationMode: 'later' as never })).rejects.toThrow(/rotationMode/);
  });
});

describe('CLI', () => {
  it('parses flags and rejects bad ones with exit code 2', async () => {
    expect(
      parseCliArgs(['--port', '4566', '--host=0.0.0.0', '--state-file', 'f.json', '--allow-short-rotation-intervals']),
    ).toEqual({
      port: 4566,
      host: '0.0.0.0',
      stateFile: 'f.json',
      allowShortRotationIntervals: true,
    });
    expect(parseCliArgs(['--help'])).toBe('help');
    const bad = [
      ['--port'],
      ['--port', 'abc'],
      ['--port', '70000'],
      ['--port', '--host', 'x'], // ambiguous: the value would be a flag
      ['--bogus'],
      ['stray'],
      ['--allow-short-rotation-intervals=yes'],
      ['--rotation-mode', 'x'],
    ];
    for (const argv of bad) {
      const err: string[] = [];
      const code = await runLocalSecretsManagerCli(argv, { stdout: () => {}, stderr: (l) => err.push(l) });
      expect(code).toBe(2);
      expect(err[0]).toMatch(/^dbcreds-local-sm: /);
      expect(err).toHaveLength(2); // one line, then the pointer to --help
    }
    const out: string[] = [];
    expect(await runLocalSecretsManagerCli(['--help'], { stdout: (l) => out.push(l), stderr: () => {} })).toBe(0);
    expect(out.join('\n')).toContain('signatures are not verified');
  });

  it('runs in-process until told to stop', async () => {
    let stop!: () => void;
    const out: string[] = [];
    const done = runLocalSecretsManagerCli(['--port', '0'], {
      stdout: (l) => out.push(l),
      stderr: () => {},
      waitForStop: () => new Promise<void>((r) => (stop = r)),
    });
    while (out.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(out[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    stop();
    expect(await done).toBe(0);
  });

  it('hooks: onStarted runs before the endpoint is printed, its lines follow it, close runs on stop', async () => {
    let stop!: () => void;
    const out: string[] = [];
    const err: string[] = [];
    const events: string[] = [];
    const done = runLocalSecretsManagerCli(
      ['--region', 'eu-west-1', '--account-id', '123456789012'],
      {
        stdout: (l) => out.push(l),
        stderr: (l) => err.push(l),
        waitForStop: () => new Promise<void>((r) => (stop = r)),
      },
      {
        name: 'wrapper',
        onStarted: (sm) => {
          events.push(`started ${sm.region} ${sm.accountId} printed=${out.length}`);
          sm.registerRotator('arn:x', async () => {});
          return { lines: ['second', 'third'], close: () => void events.push('closed') };
        },
      },
    );
    while (out.length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(out[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out.slice(1)).toEqual(['second', 'third']);
    expect(err).toEqual([]); // the "no rotators" hint is only for the plain command
    stop();
    expect(await done).toBe(0);
    expect(events).toEqual(['started eu-west-1 123456789012 printed=0', 'closed']);
    const failing = await runLocalSecretsManagerCli(
      [],
      { stdout: () => {}, stderr: (l) => err.push(l), waitForStop: () => Promise.resolve() },
      {
        name: 'wrapper',
        onStarted: () => {
          throw new Error('boom');
        },
      },
    );
    expect(failing).toBe(1);
    expect(err).toEqual(['wrapper: cannot start: boom']);
  });

  it('the bin prints the endpoint, serves the SDK, and exits 0 on SIGTERM', async () => {
    const pkg = fileURLToPath(new URL('..', import.meta.url));
    const stateFile = join(dir, 'bin-state.json');
    // node --import tsx: the same TypeScript loader as `pnpm exec tsx`, without a wrapper process in between.
    const args = ['--import', 'tsx', 'src/bin.ts', '--port', '0', '--state-file', stateFile];
    const child: ChildProcess = spawn(process.execPath, args, {
      cwd: pkg,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout!.on('data', (c: Buffer) => {
          buf += c.toString();
          const line = buf.split('\n')[0];
          if (buf.includes('\n') && line) resolve(line.trim());
        });
        child.once('exit', (code) => reject(new Error(`bin exited early with ${code}`)));
        setTimeout(() => reject(new Error('no endpoint printed within 20 s')), 20_000).unref();
      });
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = new SecretsManagerClient({
        region: 'us-east-1',
        endpoint,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      });
      await client.send(new CreateSecretCommand({ Name: 'from-bin', SecretString: 'v' }));
      client.destroy();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
      expect(saved.secrets.map((s: { name: string }) => s.name)).toEqual(['from-bin']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
