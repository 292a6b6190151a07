/**
 * `npm run bench -- cold-start`: what a Lambda cold start pays for dbcreds, against the bare driver,
 * measured on the built packages (dist/, as installed) in fresh Node processes, interleaved (dbcreds
 * and bare alternate in every round), with a control pair (bare vs bare: the noise floor).
 *   load:   `require()` and `import()` time of each package (performance.now() around the call)
 *   query:  process start to the first query's answer (spawn → result on stdout), pg against the
 *           machine's PostgreSQL on 127.0.0.1:5432, dbcreds reading through a Secrets Manager Agent
 *           (the local SM's agent endpoint, as the Lambda extension would serve it)
 *   bundle: esbuild, minified, per adapter: the AWS SDK external, and bundled in
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalSecretsManager } from '@dbcreds/local-secrets-manager';
import { int, parseFlags, writeReport } from './cli.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// The esbuild tsx runs on (no extra dependency): resolved from tsx's own folder.
const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx'));
/** The part of esbuild's API used here (its types are not a dependency of this package). */
interface Esbuild {
  version: string;
  build(o: Record<string, unknown>): Promise<{ outputFiles: Array<{ contents: Uint8Array }> }>;
}
const { build, version: esbuildVersion } = fromTsx('esbuild') as Esbuild;
const flags = parseFlags(
  ['runs', 'out', 'parts', 'pairs'],
  'npm run bench -- cold-start [--runs 10] [--parts load,query,bundle] [--pairs core,pg,mysql2,knex] [--out file] [--no-write]',
);
if (flags === undefined) process.exit(0);
const RUNS = int('runs', flags.v.runs, 10, 1);
const PARTS = new Set((flags.v.parts ?? 'load,query,bundle').split(','));
const WANTED = new Set((flags.v.pairs ?? 'core,pg,mysql2,knex').split(','));
const run = promisify(execFile);

/** [label, module] pairs measured against each other; the last is the control. */
const PAIRS: Array<[string, string, string]> = [
  ['@dbcreds/core vs pg', '@dbcreds/core', 'pg'],
  ['@dbcreds/pg vs pg', '@dbcreds/pg', 'pg'],
  ['@dbcreds/mysql2 vs mysql2', '@dbcreds/mysql2', 'mysql2'],
  ['@dbcreds/knex vs knex', '@dbcreds/knex', 'knex'],
  ['control: pg vs pg', 'pg', 'pg'],
];

async function loadMs(mod: string, how: 'require' | 'import'): Promise<number> {
  const code =
    how === 'require'
      ? `const t=performance.now();require(${JSON.stringify(mod)});console.log(performance.now()-t)`
      : `const t=performance.now();await import(${JSON.stringify(mod)});console.log(performance.now()-t)`;
  const args = how === 'require' ? ['-e', code] : ['--input-type=module', '-e', code];
  const { stdout } = await run(process.execPath, args, { cwd: HERE });
  return Number(stdout.trim());
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 10) / 10;
  return { min: r(s[0]!), median: r(s[Math.floor(s.length / 2)]!), max: r(s.at(-1)!) };
};

async function interleaved(measure: (mod: string) => Promise<number>, a: string, b: string) {
  const xa: number[] = [];
  const xb: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate which one goes first, so neither always runs on a warmer disk cache.
    if (i % 2 === 0) {
      xa.push(await measure(a));
      xb.push(await measure(b));
    } else {
      xb.push(await measure(b));
      xa.push(await measure(a));
    }
  }
  return { a: stats(xa), b: stats(xb), ratio: Math.round((stats(xa).median / stats(xb).median) * 100) / 100 };
}

const load: Record<string, unknown> = {};
for (const how of PARTS.has('load') ? (['require', 'import'] as const) : []) {
  for (const [label, a, b] of PAIRS.filter(([, a]) => a === 'pg' || WANTED.has(a.replace('@dbcreds/', '')))) {
    const r = await interleaved((m) => loadMs(m, how), a, b);
    load[`${how} ${label}`] = r;
    console.log(`${how.padEnd(7)} ${label.padEnd(28)} ${JSON.stringify(r)}`);
  }
}

// Process start to first query: a fresh process per run, timed from spawn to its answer.
const query: Record<string, unknown> = {};
const sm = await startLocalSecretsManager({ agent: { token: 'cold-start' } });
const admin = new SecretsManagerClient({
  endpoint: sm.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const secret = {
  engine: 'postgres',
  host: '127.0.0.1',
  port: 5432,
  username: 'postgres',
  password: 'x',
  dbname: 'postgres',
};
await admin.send(new CreateSecretCommand({ Name: 'cold-start/db', SecretString: JSON.stringify(secret) }));
admin.destroy();
const QUERY: Record<string, string> = {
  dbcreds: `const { createPool } = require('@dbcreds/pg');
const pool = createPool({ secretId: 'cold-start/db', agent: { endpoint: ${JSON.stringify(sm.agent!.endpoint)}, token: 'cold-start' } }, { max: 1 });
pool.query('select 1 as one').then((r) => { console.log(r.rows[0].one); return pool.end(); });`,
  bare: `const { Pool } = require('pg');
const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', password: 'x', database: 'postgres', max: 1 });
pool.query('select 1 as one').then((r) => { console.log(r.rows[0].one); return pool.end(); });`,
};
const queryMs = async (which: string) => {
  const t = performance.now();
  const { stdout } = await run(process.execPath, ['-e', QUERY[which]!], { cwd: HERE });
  if (stdout.trim() !== '1') throw new Error(`${which}: unexpected answer ${stdout}`);
  return performance.now() - t;
};
if (PARTS.has('query')) {
  query['dbcreds (agent) vs bare pg'] = await interleaved(queryMs, 'dbcreds', 'bare');
  query['control: bare vs bare'] = await interleaved(queryMs, 'bare', 'bare');
  console.log(JSON.stringify(query));
}
await sm.close();

// Bundle sizes: one entry per adapter, minified, platform node.
const bundle: Record<string, { bare: number; sdkExternal: number; sdkIncluded: number }> = {};
for (const [pkg, driver] of PARTS.has('bundle')
  ? ([
      ['@dbcreds/pg', 'pg'],
      ['@dbcreds/mysql2', 'mysql2'],
      ['@dbcreds/knex', 'knex'],
    ] as const)
  : []) {
  const size = async (contents: string, external: string[]) => {
    const r = await build({
      stdin: { contents, resolveDir: HERE, loader: 'js' },
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      logLevel: 'silent',
      // Drivers' optional natives (pg-native, …) and the ORMs' dialects the app does not use.
      external: [
        ...external,
        'pg-native',
        'cloudflare:sockets',
        'better-sqlite3',
        'sqlite3',
        'tedious',
        'oracledb',
        'mysql',
        'pg-query-stream',
      ],
    });
    return r.outputFiles[0]!.contents.length;
  };
  // The adapters load their driver, and core the SDK, with their own `require` at run time: a bundler does not
  // follow those, so each entry names what the app ships (the driver; the SDK when it passes its own client).
  const req = (...mods: string[]) => mods.map((m) => `require(${JSON.stringify(m)});`).join('\n');
  bundle[pkg] = {
    bare: await size(req(driver), []),
    sdkExternal: await size(req(pkg, driver), ['@aws-sdk/*', '@smithy/*']),
    sdkIncluded: await size(req(pkg, driver, '@aws-sdk/client-secrets-manager'), []),
  };
  console.log(pkg, bundle[pkg]);
}

if (!flags.values['no-write'])
  await writeReport('cold-start', flags.v.out, { runs: RUNS, esbuild: esbuildVersion, load, query, bundle });
