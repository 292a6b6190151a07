// After `tsc -b` (package.json `build`: the ES module projects, then the CommonJS ones, in two runs: one run
// shares tsc's file-lookup cache across both, and on a fresh clone the CommonJS projects then miss the
// adapters' just-built dist/cjs .d.ts files, 'Cannot find module'): finishes each package's CommonJS build.
// - Marks it as CommonJS: the packages are "type": "module", so without dist/cjs/package.json Node
//   would read dist/cjs/*.js as ES modules.
// - A file that still reads `import.meta` (the Prisma clients the CLI's demo generates are ES modules
//   by construction) cannot run as CommonJS: it becomes `module.exports = require(<the ES module
//   build's copy>)`, loaded through Node's require(esm) (Node >= 20.19 / 22.12).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', 'packages');
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
