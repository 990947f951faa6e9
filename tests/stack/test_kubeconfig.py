"""The AKS exec kubeconfig is made non-interactive the way `kubelogin convert-kubeconfig` does."""

from __future__ import annotations

import base64

import pytest
import yaml

from tests.stack.harness import AKS_CLI_CLIENT_ID, AKS_SERVER_ID, TENANT_ID, admin_kubeconfig, exec_kubeconfig
from workload_id.kubeconfig import KubeloginMode, decode_kubeconfig, kubelogin_args, non_interactive_kubeconfig


def converted_user(mode: KubeloginMode) -> dict:
    text = non_interactive_kubeconfig(exec_kubeconfig("aks", "https://aks:443"), mode)
    return yaml.safe_load(text)["users"][0]["user"]["exec"]


@pytest.mark.parametrize("mode", ["azurecli", "workloadidentity", "msi", "azd"])
def test_non_interactive_modes_keep_only_the_server_id(mode: KubeloginMode) -> None:
    exec_spec = converted_user(mode)
    assert exec_spec["command"] == "kubelogin"
    assert exec_spec["args"] == ["get-token", "--login", mode, "--server-id", AKS_SERVER_ID]
    assert exec_spec["interactiveMode"] == "Never"
    assert AKS_CLI_CLIENT_ID not in exec_spec["args"]
    assert "devicecode" not in exec_spec["args"]


def test_service_principal_mode_keeps_tenant_and_environment() -> None:
    args = converted_user("spn")["args"]
    assert args[:5] == ["get-token", "--login", "spn", "--server-id", AKS_SERVER_ID]
    assert args[5:] == ["--environment", "AzurePublicCloud", "--tenant-id", TENANT_ID]


def test_kubeconfig_without_kubelogin_user_is_rejected() -> None:
    with pytest.raises(ValueError, match="format=exec"):
        non_interactive_kubeconfig(admin_kubeconfig("aks", "https://aks:443"), "azurecli")


def test_missing_server_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="--server-id"):
        kubelogin_args(["get-token", "--login", "devicecode"], "azurecli")


def test_admin_kubeconfig_is_only_decoded() -> None:
    encoded = admin_kubeconfig("aks", "https://aks:443")
    assert decode_kubeconfig(encoded) == base64.b64decode(encoded).decode()
