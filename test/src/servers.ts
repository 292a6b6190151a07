import { inject } from 'vitest';

/** The database engines every rotation test runs against. */
export type EngineName = 'postgres' | 'mysql';

/** `describe.each(ENGINES)`: PostgreSQL with scram-sha-256 auth, then MariaDB (MySQL protocol). */
export const ENGINES: EngineName[] = ['postgres', 'mysql'];

/** How to reach one test server as its administrator (facts provided by the global setup). */
export interface ServerInfo {
  engine: EngineName;
  host: string;
  port: number;
  /** A database created for this run; test users get full access to it. */
  database: string;
  adminUser: string;
  adminPassword: string;
}

/** What the global setup hands to every test file (via vitest `provide`/`inject`). */
export interface TestbedFacts {
  /** Short random id of this vitest run; every user the test bed creates starts with `dbc<runId>`. */
  runId: string;
  postgres: ServerInfo;
  mysql: ServerInfo;
}

declare module 'vitest' {
  export interface ProvidedContext {
    dbcredsTestbed: TestbedFacts;
  }
}

/** Connection facts for one engine. Throws when called outside a vitest run using the global setup. */
export function serverFor(engine: EngineName): ServerInfo {
  const facts = testbedFacts();
  const info = facts[engine];
  if (!info) throw new Error(`testbed: unknown engine ${JSON.stringify(engine)}`);
  return info;
}

/** All facts provided by the global setup. */
export function testbedFacts(): TestbedFacts {
  const facts = inject('dbcredsTestbed');
  if (!facts) {
    throw new Error('testbed: no server facts; run the tests through vitest with test/src/global-setup.ts');
  }
  return facts;
}
