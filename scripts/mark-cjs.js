// After `tsc -b`: finishes each package's CommonJS build (dist/cjs).
// - Marks it as CommonJS: the packages are "type": "module", so without dist/cjs/package.json Node
//   would read dist/cjs/*.js as ES modules.
// - A file that still reads `import.meta` (the Prisma clients the CLI's demo generates are ES modules
//   by construction) cannot run as CommonJS: it becomes `module.exports = require(<the ES module
//   build's copy>)`, loaded through Node's require(esm) (Node >= 20.19 / 22.12).
// - `--before` (run ahead of `tsc -b`): only writes the marker, so that a package whose CommonJS build
//   depends on another's (the CLI's on every adapter's) reads that one's .d.ts files as CommonJS. Without
//   it, on a fresh clone (no dist/ yet), the dependent build fails with "Cannot find module '@dbcreds/core'".
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', 'packages');
if (process.argv.includes('--before')) {
  for (const name of readdirSync(root)) {
    if (!existsSync(join(root, name, 'tsconfig.cjs.json'))) continue;
    mkdirSync(join(root, name, 'dist', 'cjs'), { recursive: true });
    writeFileSync(join(root, name, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
  }
  process.exit(0);
}
for (const name of readdirSync(root)) {
  const dist = join(root, name, 'dist');
  const cjs = join(dist, 'cjs');
  if (!existsSync(cjs)) continue;
  writeFileSync(join(cjs, 'package.json'), '{ "type": "commonjs" }\n');
  for (const file of readdirSync(cjs, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.js')) continue;
    const path = join(cjs, file);
    const code = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line));
    if (!code.some((line) => line.includes('import.meta'))) continue;
    const esm = relative(join(path, '..'), join(dist, file));
    writeFileSync(path, `"use strict";\nmodule.exports = require(${JSON.stringify(`./${esm}`)});\n`);
  }
}
