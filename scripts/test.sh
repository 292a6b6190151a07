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
step "vitest (projects unit + integration: all packages, examples, test bed, latest peer versions)" pnpm exec vitest run "$@"
# Peer-version matrix: the same adapter tests against the oldest versions we claim.
step "vitest knex 2.5" pnpm exec vitest run --config packages/knex/vitest.knex25.config.ts
step "vitest mikro-orm 6" pnpm exec vitest run --config packages/mikro-orm/vitest.mikroorm6.config.ts
step "vitest drizzle-orm 0.30 + kysely 0.27" pnpm exec vitest run --config test/matrix/query-builders/vitest.config.ts
step "vitest sequelize 6.31" pnpm exec vitest run --config packages/sequelize/vitest.sequelize631.config.ts
step "vitest typeorm 0.3" pnpm exec vitest run --config packages/typeorm/vitest.typeorm03.config.ts
# The packed tarballs as users install them: require + import, types (node10/node16/bundler), README snippets.
step "packaging (pnpm pack → npm install → CommonJS + ESM projects)" node scripts/packaging/run.js
echo
if [ ${#failed[@]} -gt 0 ]; then echo "FAILED steps: ${failed[*]}"; exit 1; fi
echo "All test steps passed."
