import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadPeer } from '../src/adapter/index.js';
import { ConfigurationError } from '../src/index.js';

const require = createRequire(import.meta.url);

describe('loadPeer', () => {
  it('returns the module the given require loads', () => {
    expect(loadPeer(require, 'node:path', '@dbcreds/x')).toBe(require('node:path'));
  });

  it('names a missing package, the adapter and the option, with the loader error as cause', () => {
    let err: unknown;
    try {
      loadPeer(require, 'dbcreds-no-such-package', '@dbcreds/typeorm', {
        keys: ['type'],
        why: 'for this database type',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).message).toBe(
      "@dbcreds/typeorm needs the package 'dbcreds-no-such-package' for this database type: install it next to @dbcreds/typeorm",
    );
    expect((err as ConfigurationError).keys).toEqual(['type']);
    expect(((err as ConfigurationError).cause as { code?: string }).code).toBe('MODULE_NOT_FOUND');
  });

  it('says "could not load" when the package is there but throws', () => {
    const boom = new SyntaxError('Unexpected token');
    const failing = () => {
      throw boom;
    };
    expect(() => loadPeer(failing, 'mariadb', '@dbcreds/prisma')).toThrow(
      expect.objectContaining({
        message: "@dbcreds/prisma could not load the package 'mariadb'",
        cause: boom,
        keys: [],
      }),
    );
  });
});
