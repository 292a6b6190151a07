#!/usr/bin/env bash
# Provisions everything dbcreds needs on a fresh machine, then runs the given command with it on PATH.
#   scripts/setup.sh                 install toolchain + dependencies + build, then exit
#   scripts/setup.sh <cmd> [args…]   same, then exec <cmd> with the toolchain first on PATH
# Toolchain (pinned, from the npm registry only):
#   - Node: the system node when it is >= 22.17 (vitest 5 and MikroORM 7 need it), otherwise the
#     Node binary shipped as the npm package node-linux-<arch>@$NODE_VERSION, installed into .tools/
#   - pnpm $PNPM_VERSION installed into .tools/ (no corepack, no global install)
set -euo pipefail
NODE_VERSION=24.21.0
PNPM_VERSION=12.21.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
log() { printf '[setup] %s\n' "$*" >&2; }

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=17)?0:1)'
}

mkdir -p "$TOOLS"
case "$(uname -m)" in x86_64) ARCH=x64 ;; aarch64|arm64) ARCH=arm64 ;; *) log "unsupported arch $(uname -m)"; exit 1 ;; esac
WANT="node-linux-$ARCH@$NODE_VERSION pnpm@$PNPM_VERSION"
if [ "$(cat "$TOOLS/.installed" 2>/dev/null)" != "$WANT" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm is required on PATH"; exit 1; }
  log "installing $WANT into .tools/"
  printf '{ "name": "dbcreds-tools", "private": true }\n' > "$TOOLS/package.json"
  # pnpm's own install scripts only print a notice; they are not needed.
  (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts "node-linux-$ARCH@$NODE_VERSION" "pnpm@$PNPM_VERSION" >&2)
  echo "$WANT" > "$TOOLS/.installed"
fi
if ! node_ok; then export PATH="$TOOLS/node_modules/node-linux-$ARCH/bin:$PATH"; fi
export PATH="$TOOLS/node_modules/.bin:$PATH"
node_ok || { log "no Node >= 22.17 available"; exit 1; }

cd "$ROOT"
STAMP="node_modules/.dbcreds-installed"
inputs_hash() {
  { cat package.json pnpm-lock.yaml pnpm-workspace.yaml packages/*/package.json examples/*/package.json \
      test/package.json bench/package.json deploy/package.json 2>/dev/null || true; } | sha1sum | cut -c1-40
}
HASH="$(inputs_hash)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$HASH" ]; then
  log "pnpm install (node $(node -v), pnpm $(pnpm -v))"
  if ! pnpm install --frozen-lockfile >&2; then
    log "pnpm-lock.yaml does not match package.json: resolving again (commit the updated lockfile)"
    pnpm install --no-frozen-lockfile >&2
  fi
  inputs_hash > "$STAMP"
fi
# Prisma clients (demo, example, adapter tests) are generated, not committed. Offline: Prisma's schema
# engine download is skipped (PRISMA_SCHEMA_ENGINE_BINARY in each `generate` script); generation itself
# runs on the wasm shipped in the npm package.
PRISMA_STAMP="node_modules/.dbcreds-prisma-generated"
PRISMA_HASH="$({ cat packages/*/prisma/*.prisma packages/*/test/prisma/*.prisma examples/*/prisma/*.prisma \
  pnpm-lock.yaml 2>/dev/null || true; } | sha1sum | cut -c1-40)"
if [ "$(cat "$PRISMA_STAMP" 2>/dev/null)" != "$PRISMA_HASH" ] || [ ! -d packages/cli/src/demo/generated ] \
  || [ ! -d examples/prisma/src/generated ] || [ ! -d packages/prisma/test/generated ]; then
  log "generating Prisma clients"
  pnpm -r --if-present run generate >&2
  echo "$PRISMA_HASH" > "$PRISMA_STAMP"
fi

log "building packages"
pnpm run -s build >&2

if [ $# -gt 0 ]; then exec "$@"; fi
