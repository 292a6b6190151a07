import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/** deploy/ (the package folder), whether running from src/ or through tsx. */
export const DEPLOY_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The Lambda functions this app bundles, and their entry code (resolved from deploy/). */
const ENTRIES = {
  /** The @dbcreds/rotation Lambda handler (its `lambda` subpath export). */
  rotation: "export { handler } from '@dbcreds/rotation/lambda';",
  /** Creates the app user, its grants and the notes table (a CloudFormation custom resource). */
  bootstrap: "export { handler } from './src/lambda/bootstrap.ts';",
} as const;
export type LambdaName = keyof typeof ENTRIES;

const built = new Map<string, string>();

/**
 * Bundles one Lambda with esbuild, locally and offline (never Docker): one ESM file `index.mjs`
 * (handler `index.handler`) with pg, mysql2 and the AWS SDK inside, so the function does not depend
 * on the SDK version of the Lambda runtime. Returns the folder for `lambda.Code.fromAsset`. Bundled
 * once per process and folder.
 */
export function bundleLambda(name: LambdaName, outRoot = join(DEPLOY_DIR, '.build')): string {
  const outdir = join(outRoot, `lambda-${name}`);
  if (built.has(outdir)) return outdir;
  mkdirSync(outdir, { recursive: true });
  buildSync({
    stdin: { contents: ENTRIES[name], resolveDir: DEPLOY_DIR, loader: 'ts', sourcefile: `${name}-entry.ts` },
    outfile: join(outdir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    // pg's optional native binding and its Cloudflare transport are never used on Lambda.
    external: ['pg-native', 'cloudflare:sockets'],
    // CommonJS dependencies (pg, mysql2) call require() for Node built-ins.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  });
  built.set(outdir, outdir);
  return outdir;
}
