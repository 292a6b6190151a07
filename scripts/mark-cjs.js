// After `tsc -b`: marks each package's CommonJS build (dist/cjs) as CommonJS. The packages are
// "type": "module", so without this marker Node would read dist/cjs/*.js as ES modules.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', 'packages');
for (const name of readdirSync(root)) {
  const dir = join(root, name, 'dist', 'cjs');
  if (existsSync(dir)) writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
}
