#!/usr/bin/env bash
# The whole test suite. Run it through `npm test`, which provisions Node/pnpm/deps and builds first
# (scripts/setup.sh). Every step runs even when an earlier one failed; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
failed=()
step() {
  local name="$1"; shift
  echo; echo "=== $name: $*"
  local t0=$SECONDS
  if "$@"; then echo "=== $name: ok ($((SECONDS - t0)) s)"; else echo "=== $name: FAILED ($((SECONDS - t0)) s)"; failed+=("$name"); fi
}
step typecheck pnpm exec tsc -p tsconfig.json --noEmit
step "typecheck examples/nestjs (CommonJS, decorators)" pnpm exec tsc -p examples/nestjs/tsconfig.json --noEmit
step lint pnpm exec biome check .
# The packaging test runs beside vitest (it mostly waits on npm and its own servers); its output is printed
# after vitest's, as its own step.
pack_log="$(mktemp -t dbcreds-packaging.XXXXXX)"
node scripts/packaging/run.js >"$pack_log" 2>&1 &
pack_pid=$!
trap 'kill "$pack_pid" 2>/dev/null' EXIT
pack_t0=$SECONDS
# Projects unit + integration (all packages, examples, test bed, latest peer versions) and the peer-version
# matrix (the same adapter tests against the oldest versions we claim: knex 2.5, MikroORM 6, drizzle-orm 0.30 +
# kysely 0.27, Sequelize 6.31, TypeORM 0.3), one project per leg, in one run.
step "vitest (unit, integration, peer-version matrix)" pnpm exec vitest run "$@"
# The packed tarballs as users install them: require + import, types (node10/node16/bundler), README snippets.
echo; echo "=== packaging (pnpm pack → npm install → CommonJS + ESM projects): node scripts/packaging/run.js"
if wait "$pack_pid"; then pack_rc=0; else pack_rc=$?; fi
cat "$pack_log"; rm -f "$pack_log"
if [ "$pack_rc" -eq 0 ]; then echo "=== packaging: ok ($((SECONDS - pack_t0)) s, beside vitest)"; else echo "=== packaging: FAILED ($((SECONDS - pack_t0)) s)"; failed+=(packaging); fi
echo
if [ ${#failed[@]} -gt 0 ]; then echo "FAILED steps: ${failed[*]}"; exit 1; fi
echo "All test steps passed."
