#!/usr/bin/env node
import { runLocalSecretsManagerCli } from './cli.js';

runLocalSecretsManagerCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dbcreds-local-sm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
