"""Make an AKS user kubeconfig usable without a browser or device code.

`listClusterUserCredential(format=exec)` returns a kubeconfig whose exec plugin runs
`kubelogin get-token --login devicecode ...`, which would block `pulumi up` on a prompt.
This does what `kubelogin convert-kubeconfig -l <mode>` does: keep the cluster's
`--server-id`, set the non-interactive login mode, and drop the AKS CLI client id that
only the interactive modes use. Credentials come from the environment at run time
(the Azure CLI session, or AZURE_CLIENT_ID/AZURE_TENANT_ID/... for CI logins), so no
token ever lands in the kubeconfig or the Pulumi state.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from .config import KubeloginMode


def _flag(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            return args[i + 1]
    return None


def kubelogin_args(original: list[str], mode: KubeloginMode) -> list[str]:
    server_id = _flag(original, "--server-id")
    if server_id is None:
        raise ValueError("the AKS kubeconfig's kubelogin arguments carry no --server-id")
    args = ["get-token", "--login", mode, "--server-id", server_id]
    if mode == "spn":
        # The service principal's id and secret come from AZURE_CLIENT_ID/AZURE_CLIENT_SECRET.
        for name in ("--environment", "--tenant-id"):
            value = _flag(original, name)
            if value is not None:
                args += [name, value]
    return args


def non_interactive_kubeconfig(kubeconfig_base64: str, mode: KubeloginMode) -> str:
    """Decode the AKS exec kubeconfig and rewrite every kubelogin user for `mode`."""
    config: dict[str, Any] = yaml.safe_load(base64.b64decode(kubeconfig_base64).decode("utf-8"))
    users = config.get("users") or []
    converted = 0
    for user in users:
        exec_spec = (user.get("user") or {}).get("exec")
        if not exec_spec or exec_spec.get("command") != "kubelogin":
            continue
        exec_spec["args"] = kubelogin_args(list(exec_spec.get("args") or []), mode)
        exec_spec["interactiveMode"] = "Never"
        converted += 1
    if converted == 0:
        raise ValueError("the AKS kubeconfig has no kubelogin user; was it requested with format=exec?")
    return yaml.safe_dump(config, sort_keys=False)


def decode_kubeconfig(kubeconfig_base64: str) -> str:
    """The admin kubeconfig (local accounts) needs no conversion, only decoding."""
    return base64.b64decode(kubeconfig_base64).decode("utf-8")
