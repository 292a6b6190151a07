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
      "@dbcreds/typeorm needs the package 'dbcreds-no-such-package' for this database type: install it next to @dbcreds/typeorm (npm install dbcreds-no-such-package)",
    );
    expect((err as ConfigurationError).keys).toEqual(['type']);
    expect(((err as ConfigurationError).cause as { code?: string }).code).toBe('MODULE_NOT_FOUND');
  });

  it('names the package of a module inside one (knex loads its dialect modules)', () => {
    expect(() => loadPeer(require, 'dbcreds-no-such-package/lib/dialects/pg/index.js', '@dbcreds/knex')).toThrow(
      "@dbcreds/knex needs the package 'dbcreds-no-such-package': install it next to @dbcreds/knex (npm install dbcreds-no-such-package)",
    );
    expect(() => loadPeer(require, '@scope/dbcreds-no-such-package/sub', '@dbcreds/prisma')).toThrow(
      "needs the package '@scope/dbcreds-no-such-package'",
    );
  });

  it('a package that is there but misses a module of its own is not reported as missing itself', () => {
    const inner = Object.assign(new Error("Cannot find module 'pg'"), { code: 'MODULE_NOT_FOUND' });
    const loader = Object.assign(
      () => {
        throw inner;
      },
      { resolve: (id: string) => `/app/node_modules/${id}/index.js` },
    );
    expect(() => loadPeer(loader, '@dbcreds/pg', '@dbcreds/typeorm')).toThrow(
      expect.objectContaining({
        message: "@dbcreds/typeorm could not load the package '@dbcreds/pg': a module it needs is missing (see cause)",
        cause: inner,
      }),
    );
  });

  it("passes a peer's own ConfigurationError through (it names what is missing)", () => {
    const own = new ConfigurationError("@dbcreds/pg needs the package 'pg': install it next to @dbcreds/pg");
    const loader = () => {
      throw own;
    };
    expect(() => loadPeer(loader, '@dbcreds/pg', '@dbcreds/typeorm')).toThrow(own);
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
