#!/bin/sh
# Waits until the API server serves RESOURCE (e.g. secretproviderclasses) in GROUP_VERSION (e.g.
# secrets-store.csi.x-k8s.io/v1): an AKS add-on installs its CRDs after ARM reports the add-on
# enabled, and pulumi-kubernetes gives a missing kind only about 30 s before failing the create.
# Reads API discovery only, which every signed-in user may (the deployer cannot read CRDs).
# With NAMESPACE, then waits until the deployer may create such objects there: a role that grants
# it (Azure RBAC, custom resources) may still be propagating while an older one already lets Jobs in.
# Input: the kubeconfig on stdin. Env: GROUP_VERSION, RESOURCE, HINT (what installs it), NAMESPACE,
# TIMEOUT_SECONDS (default 600), FIRST_DELAY_SECONDS (default 5; doubles up to 40).
set -eu

if ! command -v kubectl >/dev/null 2>&1; then
  echo "error: 'kubectl' is not on PATH; it is needed to reach the AKS API. Install it: az aks install-cli" >&2
  exit 127
fi

kubeconfig=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$kubeconfig" "$errors"' EXIT
cat >"$kubeconfig"
# An Entra ID kubeconfig runs kubelogin for its token: without it every try would fail alike.
if grep -q 'command: kubelogin' "$kubeconfig" && ! command -v kubelogin >/dev/null 2>&1; then
  echo "error: 'kubelogin' is not on PATH; it is needed to reach the AKS API with Entra ID. Install it: az aks install-cli" >&2
  exit 127
fi

deadline=$(($(date +%s) + ${TIMEOUT_SECONDS:-600}))
delay=${FIRST_DELAY_SECONDS:-5}

# wait_for WHAT HINT COMMAND...: retries COMMAND until it succeeds or the deadline passes.
wait_for() {
  what=$1 hint=$2
  shift 2
  while :; do
    if "$@" 2>"$errors"; then
      return 0
    fi
    reason=$(tail -n 1 "$errors")
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "error: after ${TIMEOUT_SECONDS:-600}s $what${reason:+: $reason}" >&2
      echo "$hint" >&2
      exit 1
    fi
    echo "waiting: $what${reason:+ ($reason)}; retrying in ${delay}s" >&2
    sleep "$delay"
    if [ "$delay" -lt 40 ]; then delay=$((delay * 2)); fi
  done
}

served() {
  kubectl --kubeconfig "$kubeconfig" get --raw "/apis/$GROUP_VERSION" | grep -q "\"name\" *: *\"$RESOURCE\""
}

wait_for "the API server still does not serve $RESOURCE in $GROUP_VERSION" \
  "${HINT:-Check that what installs it is running.}" served
echo "the API server serves $RESOURCE in $GROUP_VERSION"

if [ -n "${NAMESPACE:-}" ]; then
  kind="$RESOURCE.${GROUP_VERSION%/*}"
  wait_for "the deployer still cannot create $kind in namespace $NAMESPACE" \
    "Check the deployer's role on <cluster>/namespaces/$NAMESPACE: custom resources need Azure Kubernetes Service RBAC Admin." \
    kubectl --kubeconfig "$kubeconfig" auth can-i --quiet create "$kind" --namespace "$NAMESPACE"
  echo "the deployer can create $kind in namespace $NAMESPACE"
fi
