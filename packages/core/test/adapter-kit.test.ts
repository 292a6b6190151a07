import { ConfigurationError, createCredentialSource, isAuthError } from '@dbcreds/core';
import {
  adoptReplicaSources,
  adoptSource,
  checkOptions,
  forbidKeys,
  isLoginRefused,
  presentKeys,
  shareReplicaSources,
} from '@dbcreds/core/adapter';
import { describe, expect, it } from 'vitest';

const client = { send: async () => ({}) } as never;

function thrown(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return err as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('Module: @dbcreds/core/adapter', () => {
  describe('Functions: adoptReplicaSources, shareReplicaSources', () => {
    const closed = (s: { get(): Promise<unknown> }) =>
      s.get().then(
        () => false,
        (e: Error) => e.name === 'SourceClosedError',
      );

    it('readers share the writer’s source unless they have their own; close() closes each created one once', async () => {
      const one = adoptReplicaSources({ secretId: 's', client });
      expect(one.reader).toBe(one.writer);
      const own = createCredentialSource({ secretId: 'r', client });
      const two = adoptReplicaSources({ secretId: 's', client }, own);
      expect(two.reader.source).toBe(own);
      two.close();
      expect([await closed(two.writer.source), await closed(own)]).toEqual([true, false]);
      own.close();
    });

    it('pools of one setup share one adoption; the last release closes it, the next acquire adopts afresh', async () => {
      const shared = shareReplicaSources({ secretId: 's', client });
      const a = shared.acquire();
      const b = shared.acquire();
      expect(b.sources).toBe(a.sources);
      a.release();
      a.release(); // idempotent
      expect(await closed(a.sources.writer.source)).toBe(false);
      b.release();
      expect(await closed(a.sources.writer.source)).toBe(true);
      const c = shared.acquire();
      expect(c.sources).not.toBe(a.sources);
      c.release();
    });
  });

  describe('Function: adoptSource', () => {
    it('creates a source from options and closes it by default; a passed-in source is the caller’s', () => {
      // Prepare
      const own = createCredentialSource({ secretId: 's', client });
      // Act
      const created = adoptSource({ secretId: 's', client });
      const passed = adoptSource(own);
      // Assess
      expect(created.closeSource).toBe(true);
      expect(created.source.secretId).toBe('s');
      expect(passed).toEqual({ source: own, closeSource: false });
      expect(adoptSource(own, true).closeSource).toBe(true);
      expect(adoptSource({ secretId: 's', client }, false).closeSource).toBe(false);
    });

    it('rejects bad source options with the core ConfigurationError', () => {
      expect(() => adoptSource({ secretId: '' })).toThrow(ConfigurationError);
    });
  });

  describe('Function: checkOptions', () => {
    it('lists every unknown and every forbidden key, with the package prefix', () => {
      const unknown = thrown(() =>
        checkOptions('knex', { a: 1, b: 2, ok: 3 }, 'the adapter options', { allowed: ['ok'] }),
      );
      expect(unknown.message).toMatch(/^@dbcreds\/knex: a, b are not options of the adapter options \(allowed: ok\)/);
      expect(unknown.keys).toEqual(['a', 'b']);
      const forbidden = thrown(() =>
        checkOptions('pg', { user: 'x', password: 'y', host: 'h' }, 'the pool config', {
          forbidden: ['user', 'password', 'connectionString'],
          why: 'they come from the secret',
          prefix: 'connection.',
        }),
      );
      expect(forbidden.message).toBe(
        '@dbcreds/pg: connection.user, connection.password must not be set: they come from the secret',
      );
      expect(forbidden.keys).toEqual(['connection.user', 'connection.password']);
      // The message never carries the values.
      expect(forbidden.message).not.toMatch(/\by\b/);
    });

    it('accepts undefined values and rejects non-objects', () => {
      expect(() => checkOptions('pg', { user: undefined }, 'x', { forbidden: ['user'] })).not.toThrow();
      for (const bad of [null, 1, 'str', []]) {
        expect(thrown(() => checkOptions('pg', bad, 'the pool config')).message).toBe(
          '@dbcreds/pg: the pool config must be an object',
        );
      }
    });

    it('presentKeys / forbidKeys', () => {
      expect(presentKeys({ a: 1, b: undefined }, ['a', 'b', 'c'], 'p.')).toEqual(['p.a']);
      expect(presentKeys(undefined, ['a'])).toEqual([]);
      expect(() => forbidKeys('x', [], 'never')).not.toThrow();
      expect(thrown(() => forbidKeys('x', ['k'], 'is bad')).keys).toEqual(['k']);
    });
  });

  describe('Function: isLoginRefused', () => {
    it('is true for auth errors and MySQL login refusals (own errno or first cause), false otherwise', () => {
      expect(isLoginRefused({ errno: 1045 })).toBe(true);
      expect(isLoginRefused({ code: '28P01' })).toBe(true);
      expect(isLoginRefused({ errno: 1698 })).toBe(true); // an auth error (see classify.ts)
      for (const errno of [1044, 1524, 3118, 4151]) {
        expect(isLoginRefused({ errno })).toBe(true);
        expect(isLoginRefused({ errno: 45028, cause: { errno } })).toBe(true);
        expect(isAuthError({ errno })).toBe(false); // a refresh cannot fix these
      }
      for (const other of [{ errno: 1040 }, { code: '53300' }, { code: 'ECONNREFUSED' }, null, 'x', undefined]) {
        expect(isLoginRefused(other)).toBe(false);
      }
    });
  });
});
