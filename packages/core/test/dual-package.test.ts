import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';

// A second copy of core's error classes, as when an app `import`s core (ES module build) and a
// package it uses `require`s it (CommonJS build): the same source file at another path.
const dir = mkdtempSync(join(tmpdir(), 'dbcreds-core-copy-'));
copyFileSync(fileURLToPath(new URL('../src/errors.ts', import.meta.url)), join(dir, 'errors.ts'));
const other = (await import(join(dir, 'errors.ts'))) as typeof import('../src/errors.js');

describe('two copies of core', () => {
  it('are really separate module instances', () => {
    // Prepare / Act / Assess: the classes differ, so the checks below exercise the brand
    expect(other.ConfigurationError).not.toBe(core.ConfigurationError);
    expect(
      Function.prototype[Symbol.hasInstance].call(core.ConfigurationError, new other.ConfigurationError('x')),
    ).toBe(false);
  });

  it('instanceof holds for the error class and its ancestors, from either copy', () => {
    const err = new other.ConfigurationError('bad option', { keys: ['x'] });
    expect(err).toBeInstanceOf(core.ConfigurationError);
    expect(err).toBeInstanceOf(core.DbCredsError);
    expect(err).toBeInstanceOf(Error);
    expect(new core.SecretFetchError('s', { cause: new Error('boom'), attempts: 1 })).toBeInstanceOf(
      other.SecretFetchError,
    );
  });

  it('instanceof stays false for other classes, descendants and foreign errors', () => {
    const base = new other.DbCredsError('base');
    expect(base).not.toBeInstanceOf(core.ConfigurationError);
    expect(new other.ConfigurationError('x')).not.toBeInstanceOf(core.SecretFetchError);
    expect(new other.SourceClosedError('s')).not.toBeInstanceOf(core.SecretNotFoundError);
    expect(new Error('plain')).not.toBeInstanceOf(core.DbCredsError);
    expect(Object.assign(new Error('x'), { name: 'ConfigurationError' })).not.toBeInstanceOf(core.ConfigurationError);
    expect(null).not.toBeInstanceOf(core.DbCredsError);
  });

  it('subclasses outside core keep working (same copy and across copies)', () => {
    class RotationError extends other.DbCredsError {}
    const err = new RotationError('r');
    expect(err).toBeInstanceOf(RotationError);
    expect(err).toBeInstanceOf(core.DbCredsError);
    expect(new core.DbCredsError('x')).not.toBeInstanceOf(RotationError);
  });

  it('the brand is invisible: JSON, inspect and own keys show no extra field', async () => {
    const { inspect } = await import('node:util');
    const err = new other.ConfigurationError('bad', { keys: ['k'] });
    expect(
      Object.getOwnPropertySymbols(err).filter((s) => Object.getOwnPropertyDescriptor(err, s)?.enumerable),
    ).toEqual([]);
    expect(inspect(err)).not.toContain('classes');
  });

  it('isCredentialSource accepts a source of another copy (its brand), and nothing else', () => {
    const foreign = { [Symbol.for('@dbcreds/core.CredentialSource')]: true };
    expect(core.isCredentialSource(foreign)).toBe(true);
    expect(core.isCredentialSource({ secretId: 's' })).toBe(false);
  });
});
