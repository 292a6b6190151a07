#!/usr/bin/env bash
# Runs an example app: scripts/example.sh <a folder of examples/> [--aws]
#   default: against the embedded default (private PostgreSQL + local Secrets Manager, removed on exit)
#   --aws:   against the secret in DBCREDS_SECRET_ID and the usual AWS configuration (AWS_REGION, ...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${1:-}"
if [ -z "$name" ] || [ ! -d "examples/$name" ]; then
  echo "usage: npm run example -- <$(ls examples | tr '\n' '|' | sed 's/|$//')> [--aws]" >&2
  exit 2
fi
shift
script=start:local
if [ "${1:-}" = "--aws" ]; then script=start; shift; fi
exec pnpm --silent --filter "@dbcreds/example-$name" "$script" "$@"
