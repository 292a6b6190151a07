// Preloaded (--import) into the child: at exit, prints as JSON every loaded module file of the AWS SDK
// (@aws-sdk/*) and Smithy (@smithy/*). The SDK's packages load as CommonJS through `require` and
// `import` alike (no `exports` map: `main` is dist-cjs), so Node's CommonJS cache holds each of them;
// a module.registerHooks load hook adds what loads outside a loader that bypasses it.
import { createRequire, registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const cache = createRequire(import.meta.url).cache;
const loaded = new Set();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url.startsWith('file:') ? fileURLToPath(url) : url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  const all = new Set([...loaded, ...Object.keys(cache)]);
  const aws = [...all].filter((f) => /[/\\]@(aws-sdk|smithy)[/\\+]/.test(f));
  const dbcreds = [...all].filter((f) => /[/\\]packages[/\\](core|pg)[/\\]/.test(f)).length;
  process.stdout.write(`\n${JSON.stringify({ total: all.size, dbcreds, aws })}\n`);
});
