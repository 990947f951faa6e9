"""Waits until the API server serves RESOURCE (e.g. secretproviderclasses) in GROUP_VERSION (e.g.
secrets-store.csi.x-k8s.io/v1): an AKS add-on installs its CRDs after ARM reports the add-on enabled,
and pulumi-kubernetes gives a missing kind only about 30 s before failing the create. Reads API discovery
only, which every signed-in user may (the deployer cannot read CRDs).

With NAMESPACE, then waits until the deployer may create such objects there: a role that grants it
(Azure RBAC, custom resources) may still be propagating while an older one already lets Jobs in.
Input: the kubeconfig on stdin. Env: GROUP_VERSION, RESOURCE, HINT (what installs it), NAMESPACE,
TIMEOUT_SECONDS (default 600), FIRST_DELAY_SECONDS (default 5; doubles up to 40).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from steplib import Patience, kubeconfig_from_stdin, last_line, may_create, mode, need, run

INSTALL = "Install it: az aks install-cli"


def served(discovery: str, resource: str) -> bool:
    """Whether an APIResourceList names `resource` itself (not a subresource such as resource/status)."""
    try:
        listed = json.loads(discovery).get("resources", [])
    except ValueError:
        return False
    return any(entry.get("name") == resource for entry in listed)


def main() -> None:
    kubectl = need("kubectl", f"error: 'kubectl' is not on PATH; it is needed to reach the AKS API. {INSTALL}")
    group_version, resource = os.environ["GROUP_VERSION"], os.environ["RESOURCE"]
    namespace = os.environ.get("NAMESPACE", "")
    patience = Patience()
    with kubeconfig_from_stdin() as kubeconfig:
        # An Entra ID kubeconfig runs kubelogin for its token: without it every try would fail alike.
        if "command: kubelogin" in Path(kubeconfig).read_text():
            need(
                "kubelogin",
                f"error: 'kubelogin' is not on PATH; it is needed to reach the AKS API with Entra ID. {INSTALL}",
            )

        def discovered() -> tuple[bool, str]:
            listed = run(kubectl, "--kubeconfig", kubeconfig, "get", "--raw", f"/apis/{group_version}")
            return listed.returncode == 0 and served(listed.stdout, resource), last_line(listed.stderr)

        patience.wait_for(
            f"the API server still does not serve {resource} in {group_version}",
            os.environ.get("HINT") or "Check that what installs it is running.",
            discovered,
        )
        print(f"the API server serves {resource} in {group_version}", flush=True)
        if not namespace:
            return
        kind = f"{resource}.{group_version.split('/')[0]}"
        patience.wait_for(
            f"the deployer still cannot create {kind} in namespace {namespace}",
            f"Check the deployer's role on <cluster>/namespaces/{namespace}: custom resources need Azure"
            " Kubernetes Service RBAC Admin.",
            may_create(kubectl, kubeconfig, kind, namespace),
        )
    print(f"the deployer can create {kind} in namespace {namespace}")


if __name__ == "__main__":
    mode("wait")
    main()
