#!/usr/bin/env bash
# Measures the test command as a new user meets it: a fresh clone of HEAD (no .venv, no build/),
# then the same command again (warm). Prints both wall-clock times and each gate's share.
# --cold-cache also empties uv's and pip's download caches for the fresh run (as on a new machine).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = "--cold-cache" ]; then
  export UV_CACHE_DIR="$work/uv-cache" PIP_CACHE_DIR="$work/pip-cache"
fi
git clone --quiet . "$work/clone"

run() { # run LABEL: the test command in the clone, timed, its gate times kept
  local started=$SECONDS
  (cd "$work/clone" && ./scripts/test.sh -q) >"$work/$1.log" 2>&1 || {
    tail -40 "$work/$1.log"
    echo "benchmark: the $1 run failed" >&2
    exit 1
  }
  echo "$1: $((SECONDS - started)) s"
}

echo "cores: $(nproc); commit: $(git rev-parse --short HEAD); uv cache: ${UV_CACHE_DIR:-default}"
run fresh
run warm
echo "warm run, by step:"
grep -E '^== .*: [0-9]+ s$' "$work/warm.log" | sed 's/^== /  /'
