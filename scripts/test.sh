#!/usr/bin/env bash
# The whole test suite. Run through `npm test` (which provisions Node/pnpm/deps first via setup.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== typecheck"; pnpm run -s typecheck
echo "== lint"; pnpm run -s lint
echo "== vitest"; pnpm exec vitest run "$@"
