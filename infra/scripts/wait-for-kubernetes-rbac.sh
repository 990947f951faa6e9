#!/bin/sh
# Waits until the deployer may create Jobs in $NAMESPACE, i.e. until a fresh Azure RBAC
# role assignment has reached the AKS API server (this can take a few minutes).
# First checks that kubelogin signs in as one of DEPLOYER_OBJECT_ID (space-separated), the principals
# the role went to: when kubelogin signs in as another identity, no wait helps.
# Input: the kubeconfig on stdin. Env: NAMESPACE, DEPLOYER_OBJECT_ID, ROLE_NAME (the role the
# deployers were given), TIMEOUT_SECONDS (default 600), FIRST_DELAY_SECONDS (default 5; doubles up to 40).
set -eu

for tool in kubectl kubelogin; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: '$tool' is not on PATH; it is needed to reach the AKS API with Entra ID." >&2
    echo "Install it (az aks install-cli), or keep local accounts: pulumi config set disableLocalAccounts false" >&2
    exit 127
  fi
done

kubeconfig=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$kubeconfig" "$errors"' EXIT
cat >"$kubeconfig"

# The object id (oid claim) of the token kubelogin gets, as the kubeconfig runs it. Prints
# nothing if the token cannot be read; the token itself is never printed.
signed_in_object_id() {
  args=$(kubectl --kubeconfig "$kubeconfig" config view --raw -o jsonpath='{.users[0].user.exec.args[*]}')
  # The arguments are ids, URLs and modes, without spaces: word splitting is intended.
  # shellcheck disable=SC2086
  credential=$(kubelogin $args 2>"$errors") || return 1
  payload=$(printf '%s' "$credential" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' | cut -d. -f2 | tr '_-' '/+')
  case $((${#payload} % 4)) in
    2) payload="$payload==" ;;
    3) payload="$payload=" ;;
  esac
  # base64 -d (GNU, busybox, macOS 13+) or -D (older macOS).
  { printf '%s' "$payload" | base64 -d 2>/dev/null || printf '%s' "$payload" | base64 -D 2>/dev/null; } |
    sed -n 's/.*"oid" *: *"\([^"]*\)".*/\1/p'
}

if [ -n "${DEPLOYER_OBJECT_ID:-}" ]; then
  if ! signed_in=$(signed_in_object_id); then
    echo "error: kubelogin could not sign in to the cluster: $(tail -n 1 "$errors")" >&2
    echo "Sign in as the identity Pulumi deploys with (az login; in CI, the login kubeloginMode names)." >&2
    exit 1
  fi
  if [ -z "$signed_in" ]; then
    echo "warning: could not read which identity kubelogin signs in as; if this wait times out, check that it is $DEPLOYER_OBJECT_ID" >&2
  else
    case " $DEPLOYER_OBJECT_ID " in
      *" $signed_in "*) ;;
      *)
        echo "error: kubelogin signs in as object id $signed_in, but the '${ROLE_NAME:-Azure Kubernetes Service RBAC Writer}' role went to $DEPLOYER_OBJECT_ID (deployerObjectIds, or the identity Pulumi's Azure provider signs in as)." >&2
        echo "Sign in as one of them: 'az login' as the principal the ARM_* variables name (or unset them), set kubeloginMode to the login those variables use (spn, workloadidentity, msi), or add $signed_in to deployerObjectIds." >&2
        exit 1
        ;;
    esac
  fi
fi

deadline=$(($(date +%s) + ${TIMEOUT_SECONDS:-600}))
delay=${FIRST_DELAY_SECONDS:-5}
while :; do
  # --quiet: the answer is the exit code, whatever warnings kubectl or kubelogin print.
  if kubectl --kubeconfig "$kubeconfig" auth can-i --quiet create jobs.batch --namespace "$NAMESPACE" 2>"$errors"; then
    echo "the deployer can create Jobs in namespace $NAMESPACE"
    exit 0
  fi
  reason=$(tail -n 1 "$errors")
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "error: after ${TIMEOUT_SECONDS:-600}s the deployer still cannot create Jobs in namespace $NAMESPACE${reason:+: $reason}" >&2
    echo "Check the '${ROLE_NAME:-Azure Kubernetes Service RBAC Writer}' assignment on <cluster>/namespaces/$NAMESPACE and your kubelogin login." >&2
    exit 1
  fi
  echo "waiting for Azure RBAC to propagate${reason:+ ($reason)}; retrying in ${delay}s" >&2
  sleep "$delay"
  if [ "$delay" -lt 40 ]; then delay=$((delay * 2)); fi
done
