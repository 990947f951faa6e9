#!/bin/sh
# Waits until the deployer may create Jobs in $NAMESPACE, i.e. until a fresh Azure RBAC
# role assignment has reached the AKS API server (this can take a few minutes).
# Input: the kubeconfig on stdin. Env: NAMESPACE, TIMEOUT_SECONDS (default 600),
# FIRST_DELAY_SECONDS (default 5; doubles up to 40).
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
    echo "Check the 'Azure Kubernetes Service RBAC Writer' assignment on <cluster>/namespaces/$NAMESPACE and your kubelogin login." >&2
    exit 1
  fi
  echo "waiting for Azure RBAC to propagate${reason:+ ($reason)}; retrying in ${delay}s" >&2
  sleep "$delay"
  if [ "$delay" -lt 40 ]; then delay=$((delay * 2)); fi
done
