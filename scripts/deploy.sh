#!/usr/bin/env bash
# Deploy a stack (default: dev) with the embedded default backend: state in ~/.pulumi,
# secrets under a passphrase, no Pulumi Cloud account. Extra arguments go to `pulumi up --refresh`.
#   ./scripts/deploy.sh            # dev
#   ./scripts/deploy.sh --yes      # dev, without the confirmation prompt
#   ./scripts/deploy.sh prod --diff
set -euo pipefail
cd "$(dirname "$0")/.."

stack=dev
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then # a first argument that is not an option names the stack
  stack=$1
  shift
fi

missing=()
for tool in python3 pulumi az kubectl kubelogin; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: missing prerequisite(s): ${missing[*]} (see README: Prerequisites)" >&2
  exit 1
fi
if ! az account show --output none 2>/dev/null; then
  echo "error: the Azure CLI is not logged in; run 'az login' (and 'az account set -s <subscription>')" >&2
  exit 1
fi

pulumi install                        # creates .venv and installs infra/requirements.txt (the program directory's)
pulumi stack select --create "$stack" # prompts for a passphrase unless PULUMI_CONFIG_PASSPHRASE is set
# --refresh: the Job runs again once Kubernetes has removed it, and the state holds what runs
# now (with kubernetesVersion empty, the version AKS upgraded to, which an update sends back).
pulumi up --stack "$stack" --refresh "$@"
