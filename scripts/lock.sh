#!/usr/bin/env bash
# Regenerates every lock from its human-edited .in file, with hashes:
#   requirements.txt          the program's runtime (the Pulumi CLI installs it, on any OS)
#   requirements-uv.txt       the installer the test command bootstraps with pip
#   requirements-dev.txt      the test command's .venv, at the versions of the runtime and app locks
#   requirements-checkov.txt  checkov, in its own .venv-checkov
#   app/requirements.txt      the demo image (Python 3.13 on Linux)
#   policy/requirements.txt   the policy pack (the Pulumi CLI installs it in policy/venv)
# Versions already locked are kept; pass --upgrade (or --upgrade-package NAME) to move them.
set -euo pipefail
cd "$(dirname "$0")/.."

uv=.venv/bin/uv
if [ ! -x "$uv" ]; then
  echo "lock.sh: $uv not found; run ./scripts/test.sh once to create .venv" >&2
  exit 1
fi

compile() { # compile INPUT OUTPUT [OPTIONS...]
  local input=$1 output=$2
  shift 2
  "$uv" pip compile --quiet --generate-hashes --custom-compile-command ./scripts/lock.sh \
    "$input" --output-file "$output" "$@"
}

# The image's closure first; the test venv takes its versions; the runtime and the installer
# take the test venv's, so the tests run what the program and the image run.
compile app/requirements.in app/requirements.txt --python-version 3.13 --python-platform linux "$@"
compile requirements-dev.in requirements-dev.txt --python-version 3.11 --constraint app/requirements.txt "$@"
# The program runs on the Python the Pulumi CLI finds: 3.11 or newer, on any OS.
compile requirements.in requirements.txt --universal --python-version 3.11 --constraint requirements-dev.txt "$@"
compile requirements-uv.in requirements-uv.txt --universal --python-version 3.11 --constraint requirements-dev.txt "$@"
compile policy/requirements.in policy/requirements.txt --universal --python-version 3.11 \
  --constraint requirements-dev.txt "$@"
compile requirements-checkov.in requirements-checkov.txt --universal --python-version 3.11 "$@"
