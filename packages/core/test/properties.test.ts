/**
 * Property-based tests (fast-check): secret parsing, option validation and error classification on
 * arbitrary input — a valid result or a typed error, never another exception, a hang or a leak of the
 * password into a message.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  authErrorCode,
  ConfigurationError,
  createCredentialSource,
  isAuthError,
  parseDbSecret,
  SecretFormatError,
} from '../src/index.js';

const META = { versionId: 'v1', stage: 'AWSCURRENT' as const };
/** A password long and random enough that finding it in a message cannot be a coincidence. */
const password = fc.string({ minLength: 12, maxLength: 40 }).filter((p) => p.trim().length >= 12);
const anyField = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object());

describe('parseDbSecret on arbitrary input', () => {
  it('any string: Credentials or SecretFormatError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          try {
            const c = parseDbSecret('s', text, META);
            expect(typeof c.username).toBe('string');
            expect(typeof c.password).toBe('string');
          } catch (err) {
            expect(err).toBeInstanceOf(SecretFormatError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('RDS-shaped secrets with arbitrary field values: the password never appears in a message or inspect', () => {
    fc.assert(
      fc.property(
        password,
        fc.record(
          {
            username: anyField,
            engine: fc.oneof(fc.constantFrom('postgres', 'mysql', 'mariadb', 'aurora-postgresql'), anyField),
            host: anyField,
            port: fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.string(), anyField),
            dbname: anyField,
          },
          { requiredKeys: [] },
        ),
        fc.dictionary(fc.string(), anyField, { maxKeys: 3 }),
        (pw, fields, extra) => {
          const text = JSON.stringify({ ...extra, ...fields, password: pw });
          try {
            const c = parseDbSecret('app/db', text, META);
            expect(c.password).toBe(pw);
            expect(inspect(c, { showHidden: true, depth: 10 })).not.toContain(pw);
            expect(JSON.stringify(c)).not.toContain(pw);
          } catch (err) {
            expect(err).toBeInstanceOf(SecretFormatError);
            expect(inspect(err, { showHidden: true, depth: 10 })).not.toContain(pw);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('createCredentialSource option validation on arbitrary input', () => {
  const client = { send: async () => ({}) };
  it('arbitrary option bags: a source or a ConfigurationError listing keys, nothing else', () => {
    const known = fc.record(
      {
        secretId: fc.oneof(fc.string({ minLength: 1 }), anyField),
        ttlMs: fc.oneof(fc.double(), fc.integer(), anyField),
        minRefreshIntervalMs: fc.oneof(fc.double(), anyField),
        maxStaleMs: fc.oneof(fc.double(), fc.constant(Number.POSITIVE_INFINITY), anyField),
        attemptTimeoutMs: fc.oneof(fc.double(), anyField),
        retry: fc.oneof(fc.object(), anyField),
        errorBackoff: fc.oneof(fc.object(), anyField),
        versionStage: fc.oneof(fc.constantFrom('AWSCURRENT', 'AWSPENDING'), anyField),
        client: fc.oneof(fc.constant(client), anyField),
        clientConfig: fc.oneof(fc.object(), anyField),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(known, fc.dictionary(fc.string(), anyField, { maxKeys: 2 }), (opts, extra) => {
        try {
          createCredentialSource({ ...extra, ...opts } as never).close();
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigurationError);
          expect((err as ConfigurationError).keys.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('non-objects are refused with a ConfigurationError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.anything())), (v) => {
        expect(() => createCredentialSource(v as never)).toThrow(ConfigurationError);
      }),
    );
  });
});

/**
 * Plans of hostile errors (plain data for fast-check to generate and shrink), built into objects whose
 * property reads throw, Proxies that throw on every trap, and cycles inside the property.
 */
type Plan =
  | { t: 'any'; v: unknown }
  | { t: 'code'; code: string; cause: Plan }
  | { t: 'errno'; errno: number; errors: Plan[] }
  | { t: 'getters' }
  | { t: 'proxy' }
  | { t: 'cycle'; inner: Plan };
const plan: fc.Arbitrary<Plan> = fc.letrec<{ node: Plan }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.anything().map((v): Plan => ({ t: 'any', v })),
    fc.record({
      t: fc.constant('code' as const),
      code: fc.constantFrom('28P01', '28000', 'P1000', 'X'),
      cause: tie('node'),
    }),
    fc.record({
      t: fc.constant('errno' as const),
      errno: fc.oneof(fc.integer(), fc.constant(1045)),
      errors: fc.array(tie('node'), { maxLength: 3 }),
    }),
    fc.constant<Plan>({ t: 'getters' }),
    fc.constant<Plan>({ t: 'proxy' }),
    tie('node').map((inner): Plan => ({ t: 'cycle', inner })),
  ),
})).node;

function build(p: Plan): unknown {
  switch (p.t) {
    case 'any':
      return p.v;
    case 'code':
      return { code: p.code, cause: build(p.cause) };
    case 'errno':
      return { errno: p.errno, errors: p.errors.map(build) };
    case 'getters':
      return throwingGetters();
    case 'proxy':
      return throwingProxy();
    case 'cycle':
      return cyclic(build(p.inner));
  }
}

function throwingGetters(): object {
  const o: Record<string, unknown> = {};
  for (const k of ['code', 'errno', 'cause', 'meta', 'errors', 'kind', 'originalCode', 'original', 'parent']) {
    Object.defineProperty(o, k, {
      enumerable: true,
      get() {
        throw new Error(`getter ${k}`);
      },
    });
  }
  return o;
}

function throwingProxy(): object {
  const boom = () => {
    throw new Error('proxy trap');
  };
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom });
}

function cyclic(inner: unknown): object {
  const o: Record<string, unknown> = { code: 'X', cause: inner, errors: [] };
  o.cause = { original: o, parent: inner };
  (o.errors as unknown[]).push(o, inner);
  return o;
}

describe('authErrorCode on hostile objects', () => {
  it('never throws and returns a code or undefined, quickly', () => {
    fc.assert(
      fc.property(plan, (p) => {
        const err = build(p);
        const t0 = performance.now();
        const code = authErrorCode(err);
        expect(code === undefined || /^(mysql|postgres|prisma):/.test(code)).toBe(true);
        expect(isAuthError(err)).toBe(code !== undefined);
        expect(performance.now() - t0).toBeLessThan(2_000); // a hang guard: microseconds per call
      }),
      { numRuns: 1_000 },
    );
  });

  it('finds an auth code wrapped at any depth up to the walk limit behind hostile siblings', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.constantFrom('28P01', '28000'), (depth, code) => {
        let e: Record<string, unknown> = { code };
        for (let i = 0; i < depth; i++) e = { cause: e, parent: throwingGetters(), errors: [throwingProxy()] };
        expect(authErrorCode(e)).toBe(`postgres:${code}`);
      }),
    );
  });
});
