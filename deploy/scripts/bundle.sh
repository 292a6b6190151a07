#!/usr/bin/env bash
# Builds the production bundle of an example service — exactly what deploy/Dockerfile copies into the
# image: deploy/scripts/bundle.sh <knex|typeorm> <out-dir>
#   - `pnpm deploy --prod`: the example with its production dependencies only (workspace packages
#     copied in from their built dist/), no dev dependencies, no tsx;
#   - its src/*.ts compiled to dist/*.js by esbuild (no bundling: imports stay package imports);
#   - dist/healthcheck.js (GET /health on $PORT, for Docker HEALTHCHECK and the ECS health check);
#   - package.json `start` rewritten to `node dist/main.js` (the example's main.ts, without tsx).
# Needs the workspace installed and built (scripts/setup.sh). The bundle starts from its own folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
example="${1:-}"
out="${2:-}"
case "$example" in knex|typeorm) ;; *) echo "usage: deploy/scripts/bundle.sh <knex|typeorm> <out-dir>" >&2; exit 2 ;; esac
[ -n "$out" ] || { echo "usage: deploy/scripts/bundle.sh <knex|typeorm> <out-dir>" >&2; exit 2; }
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || { echo "bundle: $out is not empty" >&2; exit 1; }
cd "$ROOT"
pnpm --silent --filter "@dbcreds/example-$example" deploy --prod "$out" >&2
rm -rf "$out/test" "$out/tsconfig.json"
esbuild=("$ROOT/deploy/node_modules/.bin/esbuild" --platform=node --format=esm --target=node22 --log-level=warning)
"${esbuild[@]}" "examples/$example/src/"*.ts --outdir="$out/dist"
"${esbuild[@]}" deploy/container/healthcheck.ts --outfile="$out/dist/healthcheck.js"
node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.scripts = { start: "node dist/main.js" };
  delete pkg.devDependencies;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$out/package.json"
echo "$out"
