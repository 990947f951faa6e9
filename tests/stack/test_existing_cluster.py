"""`existingCluster`: the workloads run on a cluster the stack does not own. It is read once before anything is
declared (its issuer, kubelet identity and API server come from that read, so even a first preview knows them),
refused in one line with the `az aks` fix if it cannot do Workload ID, never declared, so never changed or
deleted; the stack adds its managed namespaces to it and signs in to it with Entra ID."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.azure_model import TENANT_ID, arm_id, model
from tests.stack.destroy import Destroy
from tests.stack.harness import Evaluation, EvaluationFailed, evaluate, evaluate_stack
from tests.stack.stacks import DECLARED, THREE_WORKLOADS
from tests.stack.test_config import assert_printed_as_one_line
from tests.stack.test_existing_resources import (
    EXISTING,
    EXISTING_REGISTRY,
    REGISTRY_ID,
    nothing_deployed,
    refusal,
    vault_exists,
)
from tests.stack.test_lifecycle_destroy import DOCUMENTED_DEPLOYER
from workload_id.config import OWNED_ONLY

# One worker with the other existing-resource tests and the policy pack's: the memo evaluates each once.
pytestmark = pytest.mark.xdist_group("existing resources")

PLATFORM_GROUP, CLUSTER_NAME, CLUSTER_LOCATION = "rg-platform", "aks-platform", "westeurope"
CLUSTER_ID = arm_id(PLATFORM_GROUP, "Microsoft.ContainerService/managedClusters", CLUSTER_NAME)
EXISTING_CLUSTER = {"existingCluster": {"resourceGroup": PLATFORM_GROUP, "name": CLUSTER_NAME}}
ALL_EXISTING = EXISTING_CLUSTER | EXISTING | EXISTING_REGISTRY
CSI_ADDON = "azureKeyvaultSecretsProvider"


def team_cluster(**changed: Any) -> dict[str, dict[str, Any]]:
    """The team's cluster as ARM reports it (and the public IP it sends from); `changed` replaces top-level
    properties (None removes one)."""
    plain = {
        "resourceGroupName": PLATFORM_GROUP,
        "resourceName": CLUSTER_NAME,
        "location": CLUSTER_LOCATION,
        "securityProfile": {"workloadIdentity": {"enabled": True}},
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT_ID},
        # Local accounts on: the stack signs in with Entra ID all the same, never with the admin certificate.
        "disableLocalAccounts": False,
        "addonProfiles": {
            CSI_ADDON: {
                "enabled": True,
                "config": {"enableSecretRotation": "true"},
                "identity": {
                    "clientId": "11111111-2222-3333-4444-555555555555",
                    "objectId": "66666666-7777-8888-9999-000000000000",
                },
            }
        },
        "agentPoolProfiles": [{"name": "nodes", "mode": "System", "count": 3, "vmSize": "Standard_D4ds_v5"}],
        "networkProfile": {
            "networkPlugin": "azure",
            "networkDataplane": "cilium",
            "networkPolicy": "cilium",
            "outboundType": "loadBalancer",
        },
    }
    rid, outputs, extra = model(t.CLUSTER, "team-cluster", plain)
    cluster = {k: v for k, v in outputs.items() if k not in ("resourceGroupName", "resourceName")} | {"id": rid}
    for key, value in changed.items():
        cluster.pop(key, None)
        if value is not None:
            cluster[key] = value
    return {rid: cluster, **extra}


def cluster_exists(**changed: Any) -> Evaluation:
    """Nothing deployed yet, in a subscription holding the team's cluster, vault and registry."""
    return nothing_deployed({**vault_exists().world.objects, **team_cluster(**changed)})


def live_cluster(ev: Evaluation) -> Mapping[str, Any]:
    return ev.world.get(CLUSTER_ID)


@pytest.fixture(scope="module")
def on_cluster() -> Evaluation:
    """Three workloads on the team's cluster, vault and registry: the stack creates none of them."""
    return evaluate(ALL_EXISTING | THREE_WORKLOADS, prior=cluster_exists())


def test_no_cluster_is_declared_and_every_workload_is_wired_to_the_existing_one(on_cluster: Evaluation) -> None:
    assert [r for r in on_cluster.resources if r.type in (t.CLUSTER, t.VAULT, t.REGISTRY)] == []
    for check in wiring.ALL_CHECKS:
        check(on_cluster)
    issuer = live_cluster(on_cluster)["oidcIssuerProfile"]["issuerURL"]
    assert {c.inputs["issuer"] for c in on_cluster.of_type(t.FEDERATED_CREDENTIAL)} == {issuer}
    (acr_pull,) = wiring.acr_pulls_of(on_cluster)
    kubelet = live_cluster(on_cluster)["identityProfile"]["kubeletidentity"]["objectId"]
    assert (acr_pull.inputs["principalId"], acr_pull.inputs["scope"]) == (kubelet, REGISTRY_ID)


def test_the_managed_namespaces_go_into_the_clusters_own_group_and_region(on_cluster: Evaluation) -> None:
    namespaces = on_cluster.of_type(t.MANAGED_NAMESPACE)
    assert {ns.inputs["managedNamespaceName"] for ns in namespaces} == {"shop", "analytics"}
    for ns in namespaces:
        where = (ns.inputs["resourceGroupName"], ns.inputs["resourceName"], ns.inputs["location"])
        assert where == (PLATFORM_GROUP, CLUSTER_NAME, CLUSTER_LOCATION)
    writers = [a for a in on_cluster.of_type(t.ROLE_ASSIGNMENT) if "/namespaces/" in a.inputs["scope"]]
    assert {a.inputs["scope"] for a in writers} == {f"{CLUSTER_ID}/namespaces/{ns}" for ns in ("shop", "analytics")}
    # The identities stay in the stack's own group.
    assert {i.inputs["resourceGroupName"] for i in on_cluster.of_type(t.IDENTITY)} == {"rg-wid-dev"}


def test_the_stack_signs_in_with_entra_id_even_where_local_accounts_are_on(on_cluster: Evaluation) -> None:
    """The admin certificate would bypass the deployer's per-namespace roles."""
    assert "azure-native:containerservice:listManagedClusterAdminCredentials" not in on_cluster.invokes
    (user,) = yaml.safe_load(on_cluster.exports["kubeconfig"])["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"][:3] == ["get-token", "--login", "azurecli"]
    assert on_cluster.exports["clusterName"] == CLUSTER_NAME
    assert on_cluster.exports["clusterResourceGroupName"] == PLATFORM_GROUP
    assert f"--resource-group {PLATFORM_GROUP} --name {CLUSTER_NAME}" in on_cluster.exports["getCredentialsCommand"]
    hints = [r.inputs["environment"]["HINT"] for r in on_cluster.resources if r.name.endswith("-kind-ready")]
    assert len(hints) == 2  # payments and reports read files
    assert all(f"az aks show -g {PLATFORM_GROUP} -n {CLUSTER_NAME}" in h for h in hints)


def test_the_first_preview_knows_the_clusters_issuer_and_kubelet(on_cluster: Evaluation) -> None:
    preview = evaluate(ALL_EXISTING | THREE_WORKLOADS, prior=cluster_exists(), preview=True)
    issuer = live_cluster(on_cluster)["oidcIssuerProfile"]["issuerURL"]
    assert {c.inputs["issuer"] for c in preview.of_type(t.FEDERATED_CREDENTIAL)} == {issuer}
    assert preview.exports["oidcIssuerUrl"] == issuer
    (acr_pull,) = wiring.acr_pulls_of(preview)
    assert acr_pull.inputs["principalId"] == live_cluster(on_cluster)["identityProfile"]["kubeletidentity"]["objectId"]
    # Nothing of the three is created, so a first preview knows where everything goes.
    known = {key: preview.exports[key] for key in ("clusterName", "clusterResourceGroupName", "registryName")}
    assert known == {
        "clusterName": CLUSTER_NAME,
        "clusterResourceGroupName": PLATFORM_GROUP,
        "registryName": "acrshared",
    }
    assert preview.exports["keyVaultUri"] == "https://kv-shared.vault.azure.net/"
    assert {ns.inputs["resourceName"] for ns in preview.of_type(t.MANAGED_NAMESPACE)} == {CLUSTER_NAME}


def test_an_update_touches_only_what_changed_and_a_second_up_nothing(on_cluster: Evaluation) -> None:
    assert evaluate(ALL_EXISTING | THREE_WORKLOADS, prior=on_cluster).changes(on_cluster) == {}
    longer = evaluate(ALL_EXISTING | THREE_WORKLOADS | {"appRetryBudgetSeconds": 900}, prior=on_cluster, preview=True)
    changed = longer.changes(on_cluster)
    assert changed
    assert {longer.named(name).type for name in changed} == {t.JOB}, changed


def test_destroy_leaves_the_cluster_and_removes_what_the_stack_added_to_it(on_cluster: Evaluation) -> None:
    assert Destroy(on_cluster, DOCUMENTED_DEPLOYER).run() == []
    assert CLUSTER_ID not in {r.id for r in on_cluster.resources}
    added = {r.id for r in on_cluster.of_type(t.MANAGED_NAMESPACE)}
    assert added == {f"{CLUSTER_ID}/managedNamespaces/{ns}" for ns in ("shop", "analytics")}
    assert not any(r.retain_on_delete for r in on_cluster.of_type(t.MANAGED_NAMESPACE))


def test_a_kubelet_that_already_pulls_from_the_registry_is_not_granted_it_again() -> None:
    """Azure refuses a second identical assignment (409 RoleAssignmentExists); the Jobs' pulls prove the first."""
    ev = evaluate(ALL_EXISTING | THREE_WORKLOADS | {"grantKubeletAcrPull": False}, prior=cluster_exists())
    assert wiring.acr_pulls_of(ev) == []
    for check in wiring.ALL_CHECKS:
        check(ev)


@pytest.mark.parametrize(
    ("changed", "config", "message"),
    [
        (
            {"oidcIssuerProfile": {"enabled": False}},
            {},
            f"has no OIDC issuer (nothing for Entra ID to trust). Fix: az aks update --resource-group {PLATFORM_GROUP}"
            f" --name {CLUSTER_NAME} --enable-oidc-issuer",
        ),
        (
            {"oidcIssuerProfile": {"enabled": False}, "securityProfile": {}},
            {},
            f"has no OIDC issuer (nothing for Entra ID to trust). Fix: az aks update --resource-group {PLATFORM_GROUP}"
            f" --name {CLUSTER_NAME} --enable-oidc-issuer --enable-workload-identity",
        ),
        (
            {"securityProfile": {"workloadIdentity": {"enabled": False}}},
            {},
            "has workload identity off (no webhook injects the token the SDK exchanges). Fix: az aks update"
            f" --resource-group {PLATFORM_GROUP} --name {CLUSTER_NAME} --enable-workload-identity",
        ),
        ({"aadProfile": None}, {}, "does not use AKS-managed Entra ID"),
        ({"enableRBAC": False}, {}, "has Kubernetes RBAC off, which AKS cannot turn on in place"),
        (
            {"networkProfile": {"networkPlugin": "azure", "outboundType": "loadBalancer"}},
            {},
            "enforces no network policy (the namespaces' default deny and the workloads' policies would be ignored)."
            f" Fix: az aks update --resource-group {PLATFORM_GROUP} --name {CLUSTER_NAME} --network-policy azure",
        ),
        (
            {"aadProfile": {"managed": True, "enableAzureRBAC": False}},
            {},
            "has Azure RBAC for Kubernetes off (the deployer's role is granted on each namespace through it). Fix:"
            f" az aks update --resource-group {PLATFORM_GROUP} --name {CLUSTER_NAME} --enable-azure-rbac",
        ),
        ({"identityProfile": None}, {}, "has no kubelet managed identity"),
        (
            {"addonProfiles": {}},
            {},
            "has the Secrets Store CSI driver add-on off, and a workload reads its secrets as files. Fix: az aks"
            f" enable-addons --resource-group {PLATFORM_GROUP} --name {CLUSTER_NAME} --addons"
            " azure-keyvault-secrets-provider",
        ),
        (
            {"networkProfile": {"networkPolicy": "cilium", "outboundType": "userDefinedRouting"}},
            {"existingKeyVault": {}, "keyVaultNetworkDefaultAction": "Deny"},
            "sends from no managed outbound IPs (your own NAT gateway or route)",
        ),
    ],
    ids=[
        "no issuer",
        "no issuer nor workload identity",
        "no workload identity",
        "no entra",
        "no kubernetes rbac",
        "no network policy",
        "no azure rbac",
        "no kubelet identity",
        "no csi",
        "own route",
    ],
)
def test_a_cluster_that_cannot_do_workload_id_is_refused_with_the_fix(
    changed: dict[str, Any], config: dict[str, Any], message: str
) -> None:
    where = f"config 'existingCluster': cluster {CLUSTER_NAME} in resource group {PLATFORM_GROUP} "
    assert refusal(ALL_EXISTING | THREE_WORKLOADS | config, cluster_exists(**changed)).startswith(where + message)


NAT_IP = arm_id(PLATFORM_GROUP, "Microsoft.Network/publicIPAddresses", "nat-egress")
BEHIND_NAT = {
    "networkPolicy": "cilium",
    "outboundType": "managedNATGateway",
    "natGatewayProfile": {"effectiveOutboundIPs": [{"id": NAT_IP}]},
}


def test_a_closed_vault_lets_in_what_the_cluster_sends_from() -> None:
    """A managed NAT gateway's IPs (ARM reports them in natGatewayProfile); behind the owner's own route, the
    ranges the user lists instead."""
    world = cluster_exists(networkProfile=BEHIND_NAT).world.copy()
    world.objects[NAT_IP] = {"name": "nat-egress", "ipAddress": "20.1.2.3"}
    closed = {"existingKeyVault": {}, "keyVaultNetworkDefaultAction": "Deny"}
    ev = evaluate(ALL_EXISTING | THREE_WORKLOADS | closed, prior=nothing_deployed(world.objects))
    rules = ev.one(t.VAULT).inputs["properties"]["networkAcls"]["ipRules"]
    assert rules == [{"value": "20.1.2.3/32"}]
    routed = {"networkPolicy": "cilium", "outboundType": "userDefinedRouting"}
    listed = closed | {"keyVaultAllowedIpRanges": ["52.140.10.0/24"]}
    ev = evaluate(ALL_EXISTING | THREE_WORKLOADS | listed, prior=cluster_exists(networkProfile=routed))
    assert ev.one(t.VAULT).inputs["properties"]["networkAcls"]["ipRules"] == [{"value": "52.140.10.0/24"}]


def test_the_kubelets_pull_grant_on_the_teams_registry_outlives_a_destroy(on_cluster: Evaluation) -> None:
    """`az aks update --attach-acr` later takes it for its own (RoleAssignmentExists counts as done)."""
    (acr_pull,) = wiring.acr_pulls_of(on_cluster)
    assert acr_pull.retain_on_delete
    own_registry = evaluate(EXISTING_CLUSTER | THREE_WORKLOADS, prior=cluster_exists())
    (acr_pull,) = wiring.acr_pulls_of(own_registry)
    assert not acr_pull.retain_on_delete, "on the stack's own registry it goes with the registry"


def test_a_cluster_without_the_csi_add_on_serves_workloads_that_read_through_the_sdk() -> None:
    sdk_only = THREE_WORKLOADS | {"workloads": [w | {"delivery": "sdk"} for w in THREE_WORKLOADS["workloads"]]}
    ev = evaluate(ALL_EXISTING | sdk_only, prior=cluster_exists(addonProfiles={}))
    assert ev.of_type(t.SECRET_PROVIDER_CLASS) == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"existingCluster": {"resourceGroup": PLATFORM_GROUP, "name": "aks-other"}},
            f"config 'existingCluster': cluster aks-other in resource group {PLATFORM_GROUP} cannot be read",
        ),
        (
            EXISTING_CLUSTER | {"nodeCount": 3},
            "config 'nodeCount': applies only to a cluster this stack creates, not to existingCluster."
            " Fix: pulumi config rm nodeCount",
        ),
        (EXISTING_CLUSTER | {"disableLocalAccounts": False}, "config 'disableLocalAccounts': applies only to a"),
        (EXISTING_CLUSTER | {"csiRotationPollInterval": "5m"}, "config 'csiRotationPollInterval': applies only to a"),
        (
            EXISTING_CLUSTER | {"grantKubeletAcrPull": False},
            "config 'grantKubeletAcrPull': is false, but the stack creates the cluster or the registry",
        ),
    ],
    ids=["no such cluster", "node count", "local accounts", "poll interval", "acrpull without existing registry"],
)
def test_bad_existing_cluster_settings_are_refused_in_one_line_before_any_resource(
    config: dict[str, Any], message: str
) -> None:
    assert refusal(config, cluster_exists()).startswith(message)


def test_the_settings_of_what_the_stack_no_longer_creates_are_refused_together() -> None:
    """prod sets a dozen of them: one line naming all, and one command that removes them (before, one a run,
    the placeholder authorizedIpRanges first)."""
    with pytest.raises(EvaluationFailed) as raised:
        evaluate_stack("prod", ALL_EXISTING, prior=cluster_exists())
    message = str(raised.value.cause)
    assert_printed_as_one_line(raised.value.cause)
    keys = message.split(": apply only to what this stack creates, not to ")[0].removeprefix("config ")
    refused = [key.strip("'") for key in keys.split(", ")]
    assert {"nodeCount", "authorizedIpRanges", "keyVaultPurgeProtection", "acrSku"} <= set(refused)
    assert message.endswith(f"Fix: pulumi config rm-all {' '.join(refused)}")
    removed = {key: DECLARED[key]["default"] for key in refused}
    evaluate_stack("prod", ALL_EXISTING | removed, prior=cluster_exists())


def test_what_only_an_owned_resource_can_have_is_refused_only_off_its_declared_default() -> None:
    for _, defaults in OWNED_ONLY.values():
        for key, default in defaults.items():
            assert DECLARED[key]["default"] == default, key


def test_a_default_written_another_way_is_no_setting_of_its_own() -> None:
    """`pulumi config set disableLocalAccounts True`, `nodeCount 01`: read as the program reads them, defaults."""
    same = {"disableLocalAccounts": "True", "nodeCount": "01", "aksTier": "Free ", "monitoring": "False"}
    ev = evaluate(ALL_EXISTING | THREE_WORKLOADS | same, prior=cluster_exists())
    assert ev.of_type(t.CLUSTER) == []


def test_behind_its_owners_route_a_clusters_load_balancer_ips_are_not_let_in() -> None:
    """A cluster moved to userDefinedRouting may still report its load balancer's IPs; its pods leave elsewhere."""
    routed = {
        "networkPolicy": "cilium",
        "outboundType": "userDefinedRouting",
        "loadBalancerProfile": {"effectiveOutboundIPs": [{"id": NAT_IP}]},
    }
    closed = {"existingKeyVault": {}, "keyVaultNetworkDefaultAction": "Deny"}
    message = refusal(ALL_EXISTING | THREE_WORKLOADS | closed, cluster_exists(networkProfile=routed))
    assert "sends from no managed outbound IPs (your own NAT gateway or route)" in message


def test_a_private_cluster_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """Its API server answers only inside its network, and the provider, the waits and the checks call it from
    where `up` runs (the engine shows the warning; the mocks log it)."""
    private = {"enablePrivateCluster": True, "privateDNSZone": "system"}
    with caplog.at_level(logging.WARNING):
        evaluate(ALL_EXISTING | THREE_WORKLOADS, prior=cluster_exists(apiServerAccessProfile=private))
    assert any(
        f"cluster {CLUSTER_NAME} in resource group {PLATFORM_GROUP} is private" in r.message for r in caplog.records
    )
