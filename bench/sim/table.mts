import { readFileSync } from 'node:fs';
import { formatSim } from './report.js';
const rs = process.argv.slice(2).flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).results);
console.log(formatSim(rs));
