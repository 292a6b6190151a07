/**
 * `npm run bench -- cost [--drill <file>]`: what a fleet pays Secrets Manager per month with dbcreds,
 * a TTL cache and the AWS Advanced NodeJS Wrapper, from the rotation drill's measured figures (the
 * newest bench/results/drill-*.json by default). Every step of the derivation is printed; the README's
 * cost table is this output.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { costTable } from './cost-model.js';

interface DrillReport {
  options: { rotations: number; intervalMs: number };
  engines: Record<string, Array<{ contender: string; getSecretValueCalls: number; queriesFailed: number }>>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { drill: { type: 'string' }, engine: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    console.log(
      'Usage: npm run bench -- cost [--drill <drill-*.json>] [--engine postgres|mysql]\n' +
        '  --drill   the drill report to price (default: the newest bench/results/drill-YYYY-MM-DD.json)\n' +
        '  --engine  which engine of that report (default postgres)',
    );
    return;
  }
  const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
  const file =
    values.drill ??
    join(
      results,
      (await readdir(results))
        .filter((f) => /^drill-\d{4}-\d\d-\d\d\.json$/.test(f))
        .sort()
        .at(-1) ?? 'drill.json',
    );
  const report = JSON.parse(await readFile(file, 'utf8')) as DrillReport;
  const engine = values.engine ?? 'postgres';
  const rows = report.engines[engine];
  const pick = (id: string) => rows?.find((r) => r.contender === id);
  const dbcreds = pick('dbcreds');
  const wrapper = pick('aws-wrapper');
  if (!dbcreds || !wrapper) throw new Error(`${file} has no dbcreds and aws-wrapper results for ${engine}`);
  console.log(`from ${file} (${engine})\n`);
  console.log(
    costTable({
      rotations: report.options.rotations,
      intervalMs: report.options.intervalMs,
      dbcredsCalls: dbcreds.getSecretValueCalls,
      wrapperCalls: wrapper.getSecretValueCalls,
      wrapperFailed: wrapper.queriesFailed,
    }),
  );
}

await main();
