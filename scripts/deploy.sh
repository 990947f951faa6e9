#!/usr/bin/env bash
# Deploy a stack with the embedded default backend: state in ~/.pulumi, secrets under a
# passphrase, no Pulumi Cloud account. Run with --help for usage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: ./scripts/deploy.sh [STACK] [--new] [--recover] [PULUMI UP OPTIONS...]

Checks the prerequisites, then runs: pulumi install, pulumi stack select --create STACK,
pulumi up --stack STACK --refresh [PULUMI UP OPTIONS...]. It stops before `up` when an
interrupted update left pending creates, and says what each one is.

  STACK        a stack with a Pulumi.STACK.yaml in this directory (default: dev)
  --new        deploy STACK although it has no Pulumi.STACK.yaml: a new stack on
               Pulumi.yaml's defaults (without it a mistyped name stops here)
  --recover    resolve those pending creates first: drop them from the state, and
               adopt in this up what the interrupted update created
  -h, --help   print this and do nothing else

examples:
  ./scripts/deploy.sh              # dev
  ./scripts/deploy.sh --yes        # dev, without the confirmation prompt
  ./scripts/deploy.sh prod --diff
EOF
}

fail() {
  echo "deploy.sh: $*" >&2
  exit 1
}

# at_least MINIMUM VERSION: true if VERSION >= MINIMUM (dotted numbers)
at_least() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

for arg in "$@"; do
  case $arg in -h | --help)
    usage
    exit 0
    ;;
  esac
done

stack=dev
stack_given=false
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then # a first argument that is not an option names the stack
  stack=$1
  stack_given=true
  shift
fi
new=false
recover=false
up_args=()
for arg in "$@"; do
  case $arg in
    --new) new=true ;;
    --recover) recover=true ;;
    -s | --stack | --stack=*) fail "name the stack as the first argument (./scripts/deploy.sh prod), not with $arg" ;;
    *) up_args+=("$arg") ;;
  esac
done
if [ "$new" = true ] && [ "$stack_given" = false ]; then
  fail "--new creates the stack named first: ./scripts/deploy.sh <stack> --new"
fi
if [ ! -f "Pulumi.$stack.yaml" ] && [ "$new" = false ]; then
  known=$(printf '%s\n' Pulumi.*.yaml | sed 's/^Pulumi\.\(.*\)\.yaml$/\1/' | tr '\n' ' ')
  fail "there is no Pulumi.$stack.yaml (stacks here: ${known% }). Check the name, or create the stack on Pulumi.yaml's defaults with: ./scripts/deploy.sh $stack --new"
fi

# The image builder this stack uses: its stack file, else Pulumi.yaml's default (acr).
builder=$(sed -n 's/^ *[a-z-]*:imageBuilder: *\([a-z]*\).*/\1/p' "Pulumi.$stack.yaml" 2>/dev/null || true)
builder=${builder:-acr}

hint() { # how to install a prerequisite
  case $1 in
    python3) echo "Python 3.11 or newer: https://www.python.org/downloads/ or your package manager" ;;
    pulumi) echo "curl -fsSL https://get.pulumi.com | sh" ;;
    az) echo "https://learn.microsoft.com/cli/azure/install-azure-cli" ;;
    kubectl | kubelogin) echo "az aks install-cli" ;;
    docker) echo "Docker Engine with buildx: https://docs.docker.com/engine/install/ (or set imageBuilder: acr)" ;;
  esac
}
tools=(python3 pulumi az kubectl kubelogin)
if [ "$builder" = docker ]; then tools+=(docker); fi
missing=0
for tool in "${tools[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "deploy.sh: missing prerequisite $tool; install: $(hint "$tool")" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 1

python_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
at_least 3.11 "$python_version" || fail "python3 is $python_version; the program needs 3.11 or newer ($(hint python3))"
# The CLI runs the locked Python SDK (requirements.txt): it must be at least as new.
sdk_version=$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' requirements.txt)
cli_version=$(pulumi version)
cli_version=${cli_version#v}
at_least "$sdk_version" "$cli_version" ||
  fail "the Pulumi CLI is $cli_version; this project's SDK is $sdk_version and needs a CLI at least as new: $(hint pulumi) (or your package manager's upgrade)"
if [ "$builder" = docker ]; then
  docker_version=$(docker version --format '{{.Server.Version}}') ||
    fail "imageBuilder is docker but the Docker daemon does not answer (its error is above): start it, or set imageBuilder: acr"
  at_least 23.0 "$docker_version" ||
    fail "Docker Engine is $docker_version; the docker-build provider needs 23.0 or newer (BuildKit by default)"
fi
if ! az_error=$(az account show --output none 2>&1); then
  echo "$az_error" >&2
  fail "the Azure CLI is not ready (its error is above): run 'az login', then 'az account set --subscription <id>'"
fi

pulumi install                        # creates .venv and installs infra/requirements.txt (the program directory's)
pulumi stack select --create "$stack" # prompts for a passphrase unless PULUMI_CONFIG_PASSPHRASE is set

# An interrupted update leaves pending creates, and `up` goes on without them: what Azure created but
# Pulumi never recorded would be created again, and Azure refuses ("already exists"). scripts/recover.py
# says what each one is; --recover drops them from the state and adopts, in the next `up`, what exists.
# That `up`'s environment is kept in .recover/ until it succeeds, so a failed one is finished next time.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recovery=".recover/$stack.env"
pulumi stack export --stack "$stack" --file "$work/state.json"
pending=0
recovering=()
if [ "$recover" = true ]; then recovering=(--recovering); fi
python3 scripts/recover.py "$work/state.json" --stack "$stack" --env-file "$work/recovery.env" \
  --cleared-file "$work/cleared.json" --previous "$recovery" ${recovering[@]+"${recovering[@]}"} || pending=$?
case $pending in
  0) ;;
  3)
    [ "$recover" = true ] || exit 1 # the report above ends with the command that recovers
    mkdir -p .recover
    mv "$work/recovery.env" "$recovery"
    pulumi stack import --stack "$stack" --file "$work/cleared.json"
    ;;
  *) exit 1 ;;
esac
if [ -f "$recovery" ]; then
  echo "deploy.sh: this up adopts what an interrupted update created ($recovery):" >&2
  cat "$recovery" >&2
  # shellcheck disable=SC1090 # written by scripts/recover.py: export lines, values quoted
  . "$recovery"
fi

# --refresh: the Job runs again once Kubernetes has removed it, and the state holds what runs
# now (with kubernetesVersion empty, the version AKS upgraded to, which an update sends back).
# ${up_args[@]+...}: with no options, bash 3.2 (macOS) under set -u calls an empty array unbound.
pulumi up --stack "$stack" --refresh ${up_args[@]+"${up_args[@]}"}
rm -f "$recovery" # set -e: only after a successful up
