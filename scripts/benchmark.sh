#!/usr/bin/env bash
# Measures the test command as a new user meets it: a fresh clone of HEAD (no .venv, no build/),
# then the same command again (warm), and, in the same run, the unit both are divided by: one dev-stack
# evaluation under the mocks in a fresh process whose bytecode is cached, from the program's start to
# its end (its imports of the provider SDKs included; interpreter start-up and the Pulumi SDK's import
# excluded). Absolute times vary between machines; the ratios are the figures to track.
# Targets: warm <= 45 units, fresh <= 90 units.
# --cold-cache also empties uv's and pip's download caches for the fresh run (as on a new machine).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = "--cold-cache" ]; then
  export UV_CACHE_DIR="$work/uv-cache" PIP_CACHE_DIR="$work/pip-cache"
fi
git clone --quiet . "$work/clone"

run() { # run LABEL: the test command in the clone, timed (seconds in $work/LABEL.seconds), its gate times kept
  local started=$SECONDS
  (cd "$work/clone" && ./scripts/test.sh -q) >"$work/$1.log" 2>&1 || {
    tail -40 "$work/$1.log"
    echo "benchmark: the $1 run failed" >&2
    exit 1
  }
  echo $((SECONDS - started)) >"$work/$1.seconds"
}

unit() { # the median of three fresh processes' single evaluation, in seconds
  for _ in 1 2 3; do
    (cd "$work/clone" && env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -c '
import sys, time
sys.path[:0] = ["infra", "component", "policy", "."]
from tests.stack.harness import evaluate_stack
started = time.perf_counter()
evaluate_stack("dev")
print(f"{time.perf_counter() - started:.3f}")')
  done | sort -n | sed -n 2p
}

echo "cores: $(nproc); commit: $(git rev-parse --short HEAD); uv cache: ${UV_CACHE_DIR:-default}"
run fresh
run warm
unit=$(unit)
ratio() { python3 -c "print(f'{$1 / $unit:.0f}')"; }
echo "unit (one dev evaluation, bytecode cached): $unit s"
echo "fresh: $(cat "$work/fresh.seconds") s = $(ratio "$(cat "$work/fresh.seconds")") units (target <= 90)"
echo "warm: $(cat "$work/warm.seconds") s = $(ratio "$(cat "$work/warm.seconds")") units (target <= 45)"
echo "warm run, by step:"
grep -E '^== .*: [0-9]+ s$' "$work/warm.log" | sed 's/^== /  /'
