"""Waits until the deployer may create Jobs in NAMESPACE, i.e. until a fresh Azure RBAC role assignment
has reached the AKS API server (this can take a few minutes).

First checks that kubelogin signs in as one of DEPLOYER_OBJECT_ID (space-separated), the principals the
role went to: when kubelogin signs in as another identity, no wait helps.
Input: the kubeconfig on stdin. Env: NAMESPACE, DEPLOYER_OBJECT_ID, ROLE_NAME (the role the deployers
were given), TIMEOUT_SECONDS (default 600), FIRST_DELAY_SECONDS (default 5; doubles up to 40).
"""

from __future__ import annotations

import base64
import json
import os
import sys

from steplib import Patience, fail, kubeconfig_from_stdin, last_line, may_create, mode, need, run

DEFAULT_ROLE = "Azure Kubernetes Service RBAC Writer"


def kube_tools() -> tuple[str, str]:
    found = []
    for tool in ("kubectl", "kubelogin"):
        found.append(
            need(
                tool,
                f"error: '{tool}' is not on PATH; it is needed to reach the AKS API with Entra ID.",
                "Install it (az aks install-cli), or keep local accounts: pulumi config set disableLocalAccounts false",
            )
        )
    return found[0], found[1]


def object_id(credential: str) -> str:
    """The oid claim of the token in kubelogin's ExecCredential, or "" if it cannot be read.
    The token is never printed."""
    try:
        token = json.loads(credential)["status"]["token"]
        claims = token.split(".")[1]
        payload = base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))
        return str(json.loads(payload)["oid"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def signed_in_object_id(kubectl: str, kubelogin: str, kubeconfig: str) -> str:
    """The object id kubelogin signs in as, run as the kubeconfig runs it; exits if it cannot sign in."""
    view = run(
        kubectl, "--kubeconfig", kubeconfig, "config", "view", "--raw", "-o", "jsonpath={.users[0].user.exec.args[*]}"
    )
    # The arguments are ids, URLs and modes, without spaces.
    signed_in = run(kubelogin, *view.stdout.split())
    if signed_in.returncode != 0:
        fail(
            f"error: kubelogin could not sign in to the cluster: {last_line(signed_in.stderr)}",
            "Sign in as the identity Pulumi deploys with (az login; in CI, the login kubeloginMode names).",
        )
    return object_id(signed_in.stdout)


def check_identity(kubectl: str, kubelogin: str, kubeconfig: str, deployers: str, role: str) -> None:
    signed_in = signed_in_object_id(kubectl, kubelogin, kubeconfig)
    if not signed_in:
        print(
            "warning: could not read which identity kubelogin signs in as; "
            f"if this wait times out, check that it is {deployers}",
            file=sys.stderr,
        )
    elif signed_in not in deployers.split():
        fail(
            f"error: kubelogin signs in as object id {signed_in}, but the '{role}' role went to {deployers}"
            " (deployerObjectIds, or the identity Pulumi's Azure provider signs in as).",
            "Sign in as one of them: 'az login' as the principal the ARM_* variables name (or unset them), set"
            " kubeloginMode to the login those variables use (spn, workloadidentity, msi), or add"
            f" {signed_in} to deployerObjectIds.",
        )


def main() -> None:
    kubectl, kubelogin = kube_tools()
    namespace = os.environ["NAMESPACE"]
    role = os.environ.get("ROLE_NAME") or DEFAULT_ROLE
    deployers = os.environ.get("DEPLOYER_OBJECT_ID", "")
    with kubeconfig_from_stdin() as kubeconfig:
        if deployers:
            check_identity(kubectl, kubelogin, kubeconfig, deployers, role)

        Patience().wait_for(
            f"the deployer still cannot create Jobs in namespace {namespace}",
            f"Check the '{role}' assignment on <cluster>/namespaces/{namespace} and your kubelogin login.",
            may_create(kubectl, kubeconfig, "jobs.batch", namespace),
            waiting="waiting for Azure RBAC to propagate",
        )
    print(f"the deployer can create Jobs in namespace {namespace}")


if __name__ == "__main__":
    mode("wait")
    main()
