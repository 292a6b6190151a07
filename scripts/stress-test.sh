#!/usr/bin/env bash
# Proves the suite is deterministic: runs the README's test command (`npm test`) from a fresh clone of
# this repository's HEAD, N times in a row, while another process keeps one CPU core busy.
#   scripts/stress-test.sh [runs=3]
# Each run gets a new clone under a fresh 0700 temporary folder (what CI and a new user start from; the
# first run installs the toolchain and dependencies, later runs reuse pnpm's store). Prints one line per
# run (exit code, duration) and exits non-zero if any run failed. Logs: <tmp>/run-<i>.log (kept on failure).
set -uo pipefail
RUNS="${1:-3}"
case "$RUNS" in '' | *[!0-9]*) echo "usage: scripts/stress-test.sh [runs]" >&2; exit 2 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d -t dbcreds-stress.XXXXXX)"
chmod 700 "$WORK"
log() { printf '[stress] %s\n' "$*" >&2; }

# One core kept busy for the whole series (a plain busy loop), stopped on exit whatever happens.
node -e 'for (;;) {}' &
BUSY=$!
trap 'kill "$BUSY" 2>/dev/null' EXIT
log "busy loop pid $BUSY; work dir $WORK; $RUNS run(s) of npm test on $(git -C "$ROOT" rev-parse --short HEAD)"

failed=0
summary=()
for i in $(seq 1 "$RUNS"); do
  clone="$WORK/run-$i/dbcreds"
  git clone -q "$ROOT" "$clone" || { log "clone failed"; exit 1; }
  # ../shared beside the clone, as in CI, when the source checkout has one.
  [ -d "$ROOT/../shared" ] && ln -s "$(cd "$ROOT/../shared" && pwd)" "$WORK/run-$i/shared"
  t0=$SECONDS
  (cd "$clone" && CI=1 npm test) >"$WORK/run-$i.log" 2>&1
  rc=$?
  secs=$((SECONDS - t0))
  tests="$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/run-$i.log" | grep -aE '^\s*Tests\s' | tr -s ' ' | head -1)"
  line="run $i: exit $rc, $((secs / 60)) min $((secs % 60)) s, load $(cut -d' ' -f1-3 /proc/loadavg);$tests"
  log "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -aE 'FAILED steps|FAIL |AssertionError|✗|×' "$WORK/run-$i.log" | head -20 >&2
  else
    rm -rf "$WORK/run-$i"
  fi
done
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then log "some runs failed; logs in $WORK"; exit 1; fi
log "all $RUNS runs green"
