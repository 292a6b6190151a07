#!/usr/bin/env node
import { runCli } from './cli.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals++;
  if (signals === 1) {
    process.stderr.write(`\n${signal}: stopping (cleaning up; press Ctrl-C again to force)\n`);
    controller.abort();
  } else {
    process.exit(130);
  }
};
// `exec` forwards signals to its command itself.
const forwards = process.argv[2] === 'exec';
if (!forwards) {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  },
  (err: unknown) => {
    process.stderr.write(`dbcreds: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
