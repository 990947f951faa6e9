#!/usr/bin/env bash
# Rehearse `pulumi up` offline: the program evaluated, the chain printed and run on local fakes
# of Entra ID and Key Vault, the real app reading the secret. Run ./scripts/test.sh once first.
#   ./scripts/rehearse.sh [dev|prod] [--three-workloads] [--config KEY=VALUE] [--list-cuts] [--cut NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "rehearse.sh: no .venv yet; run ./scripts/test.sh once (it installs the toolchain)" >&2
  exit 1
fi
PYTHONPATH="$PWD/infra:$PWD/component:$PWD" exec .venv/bin/python -m tests.rehearse "$@"
