"""Each resource the stack declares, checked against the real Azure / Kubernetes API shape.

Numbers refer to the resource list of the stack's specification (docs/architecture.md: What it builds)."""

from __future__ import annotations

import re

import pytest

from app.read_secret import fingerprint
from tests.stack import constants as t
from tests.stack.engine import JOB_FAILS_AT_ONCE, job_failure
from tests.stack.harness import DEPLOYER_OBJECT_ID, SUBSCRIPTION_ID, Evaluation, Registered, evaluate
from tests.stack.stacks import THREE_WORKLOADS

LOCATED = {t.REGISTRY, t.VAULT, t.CLUSTER, t.MANAGED_NAMESPACE, t.IDENTITY, t.WORKSPACE, t.DCR}
TAGGED = LOCATED | {t.RESOURCE_GROUP, t.SECRET}


def role_guid(assignment: Registered) -> str:
    role_id = assignment.inputs["roleDefinitionId"]
    match = re.fullmatch(
        rf"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft\.Authorization/roleDefinitions/([0-9a-f-]{{36}})",
        role_id,
    )
    assert match, f"not a subscription-scoped role definition id: {role_id}"
    return match.group(1)


# 1. Resource group; everything in it, in the configured location, tagged.
@pytest.mark.parametrize("location", ["japaneast", "westeurope"])
def test_every_azure_resource_is_in_the_group_in_the_location_and_tagged(location: str) -> None:
    ev = evaluate({"location": location, "monitoring": True})
    group = ev.one(t.RESOURCE_GROUP)
    assert group.inputs["location"] == location
    azure = [r for r in ev.custom_resources() if r.type.startswith("azure-native:")]
    assert {r.type for r in azure} >= LOCATED | {t.SECRET, t.ROLE_ASSIGNMENT, t.FEDERATED_CREDENTIAL}
    for resource in azure:
        if resource.type in LOCATED:
            assert resource.inputs["location"] == location, resource.name
        if resource.type in TAGGED:
            assert resource.inputs["tags"]["project"] == "aks-workload-identity-keyvault", resource.name
            assert resource.inputs["tags"]["stack"] == "dev", resource.name
        if resource.type not in (t.RESOURCE_GROUP, t.ROLE_ASSIGNMENT, t.DCR_ASSOCIATION):
            assert resource.inputs["resourceGroupName"] == group.outputs["name"], resource.name
            assert group.urn in resource.property_dependencies["resourceGroupName"], resource.name


# 2. Container registry: admin user and anonymous pull off; AcrPull for the kubelet identity only.
def test_registry_has_no_admin_user_and_no_anonymous_pull(dev: Evaluation) -> None:
    registry = dev.one(t.REGISTRY)
    assert registry.inputs["adminUserEnabled"] is False
    assert registry.inputs["anonymousPullEnabled"] is False
    assert registry.inputs["sku"] == {"name": "Basic"}
    assert "listRegistryCredentials" not in " ".join(dev.invokes)


def test_kubelet_identity_gets_acr_pull_on_the_registry(dev: Evaluation) -> None:
    cluster, registry = dev.one(t.CLUSTER), dev.one(t.REGISTRY)
    pulls = [a for a in dev.of_type(t.ROLE_ASSIGNMENT) if role_guid(a) == t.ACR_PULL]
    assert len(pulls) == 1
    (pull,) = pulls
    assert pull.inputs["principalId"] == cluster.outputs["identityProfile"]["kubeletidentity"]["objectId"]
    assert pull.inputs["principalType"] == "ServicePrincipal"
    assert pull.inputs["scope"] == registry.id


# 3. Key Vault: RBAC mode, soft delete, purge protection by config, unique name, secret value.
def test_vault_uses_azure_rbac_with_short_soft_delete_in_dev(dev: Evaluation) -> None:
    props = dev.one(t.VAULT).inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["accessPolicies"] == []
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 7
    # ARM refuses enablePurgeProtection=false: it must be absent when off.
    assert "enablePurgeProtection" not in props
    assert props["sku"] == {"family": "A", "name": "standard"}
    assert props["tenantId"]


def test_purge_protection_and_retention_follow_config() -> None:
    props = evaluate({"keyVaultPurgeProtection": True, "keyVaultSoftDeleteDays": 90}).one(t.VAULT).inputs["properties"]
    assert props["enablePurgeProtection"] is True
    assert props["softDeleteRetentionInDays"] == 90


def test_vault_name_is_valid_and_made_unique_by_a_random_suffix(dev: Evaluation) -> None:
    vault, suffix = dev.one(t.VAULT), dev.one(t.RANDOM_STRING, "name-suffix")
    name = vault.inputs["vaultName"]
    assert 3 <= len(name) <= 24
    assert re.fullmatch(r"[a-z](?!.*--)[a-z0-9-]*[a-z0-9]", name)
    assert name.endswith(suffix.outputs["result"])
    assert suffix.urn in vault.property_dependencies["vaultName"]
    assert suffix.inputs["special"] is False
    assert suffix.inputs["upper"] is False


def test_secret_value_from_config_is_used_and_kept_secret() -> None:
    ev = evaluate(secrets={"secretValue": "from-config-123"})
    secret = ev.one(t.SECRET)
    assert secret.inputs["properties"]["value"] == "from-config-123"
    assert secret.raw_inputs["properties"]["value"] != "from-config-123", "the value must travel as a secret"
    assert ev.of_type(t.RANDOM_PASSWORD) == []
    assert "properties" in secret.additional_secret_outputs


def test_secret_value_is_generated_when_not_configured(dev: Evaluation) -> None:
    secret, password = dev.one(t.SECRET), dev.one(t.RANDOM_PASSWORD)
    assert secret.inputs["properties"]["value"] == password.outputs["result"]
    assert password.inputs["length"] >= 32
    assert password.urn in secret.property_dependencies["properties"]
    assert "properties" in secret.additional_secret_outputs
    assert secret.inputs["secretName"] == "demo-secret"
    assert secret.inputs["vaultName"] == dev.one(t.VAULT).outputs["name"]


def test_secret_content_type_and_expiry_follow_config() -> None:
    ev = evaluate({"secretContentType": "text/plain", "secretExpiryDays": 90})
    props, set_at = ev.one(t.SECRET).inputs["properties"], ev.one(t.TIME_STATIC)
    assert props["contentType"] == "text/plain"
    # "when the value was set + 90 days": the time is taken once and kept in state (mock now: 2026-11-24).
    assert set_at.outputs["rfc3339"] == "2026-11-24T00:00:00Z"
    assert props["attributes"]["expires"] == 1_795_478_400 + 90 * 86400
    assert set_at.urn in ev.one(t.SECRET).property_dependencies["properties"]
    # Renewed with the value: a new time is taken when its fingerprint changes.
    value = ev.one(t.RANDOM_PASSWORD).outputs["result"]
    salt = ev.one(t.RANDOM_STRING, "secret-store-demo-secret-salt").outputs["result"]
    assert set_at.inputs["triggers"] == {"value": fingerprint(value, salt)}
    assert ev.of_type(t.TIME_ROTATING) == []


def test_no_expiry_and_open_firewall_by_default(dev: Evaluation) -> None:
    assert "expires" not in dev.one(t.SECRET).inputs["properties"]["attributes"]
    acls = dev.one(t.VAULT).inputs["properties"]["networkAcls"]
    assert acls == {"defaultAction": "Allow", "bypass": "None", "ipRules": []}
    assert "azure-native:network:getPublicIPAddress" not in dev.invokes


def test_closed_vault_firewall_lets_in_the_cluster_egress_and_the_configured_ranges() -> None:
    ev = evaluate({"keyVaultNetworkDefaultAction": "Deny", "keyVaultAllowedIpRanges": ["52.140.10.0/24"]})
    acls, cluster = ev.one(t.VAULT).inputs["properties"]["networkAcls"], ev.one(t.CLUSTER)
    assert acls["defaultAction"] == "Deny"
    assert acls["bypass"] == "None"
    egress = [ip["id"] for ip in cluster.outputs["networkProfile"]["loadBalancerProfile"]["effectiveOutboundIPs"]]
    assert len(egress) == 1
    rules = [rule["value"] for rule in acls["ipRules"]]
    assert "52.140.10.0/24" in rules
    assert len(rules) == 2
    # The egress IP in the form Azure returns it, so a refresh shows no diff.
    assert any(re.fullmatch(r"20\.78\.\d+\.\d+/32", rule) for rule in rules)
    assert cluster.urn in ev.one(t.VAULT).property_dependencies["properties"]


# 4. AKS.
def test_cluster_enables_oidc_issuer_workload_identity_and_entra_rbac(dev: Evaluation) -> None:
    cluster = dev.one(t.CLUSTER).inputs
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert cluster["aadProfile"]["managed"] is True
    assert cluster["aadProfile"]["enableAzureRBAC"] is True
    assert cluster["disableLocalAccounts"] is True
    assert cluster["enableRBAC"] is True
    assert cluster["identity"] == {"type": "SystemAssigned"}


def test_cluster_network_upgrade_channels_and_small_dev_pool(dev: Evaluation) -> None:
    cluster = dev.one(t.CLUSTER).inputs
    assert cluster["networkProfile"]["networkPlugin"] == "azure"
    assert cluster["networkProfile"]["networkPluginMode"] == "overlay"
    assert cluster["networkProfile"]["networkPolicy"] == "cilium"
    assert cluster["networkProfile"]["networkDataplane"] == "cilium"
    assert cluster["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    (pool,) = cluster["agentPoolProfiles"]
    assert pool["mode"] == "System"
    assert pool["count"] == 1
    assert pool["vmSize"] == "Standard_D2s_v5"
    assert pool["maxPods"] == 110, "explicit: fixed when the pool is created"
    assert "apiServerAccessProfile" not in cluster
    assert "kubernetesVersion" not in cluster
    assert "orchestratorVersion" not in pool
    assert cluster["sku"] == {"name": "Base", "tier": "Free"}
    # Left to AKS (and its 'patch' channel), so what AKS reports is not a diff; maxPods is fixed per pool.
    assert dev.one(t.CLUSTER).ignore_changes == [
        "agentPoolProfiles[*].maxPods",
        "kubernetesVersion",
        "agentPoolProfiles[*].orchestratorVersion",
    ]


def test_cluster_settings_follow_config() -> None:
    resource = evaluate(
        {
            "kubernetesVersion": "1.33",
            "nodeVmSize": "Standard_D4ds_v5",
            "nodeCount": 3,
            "availabilityZones": ["1", "2", "3"],
            "nodeOsDiskType": "Ephemeral",
            "nodeOsDiskSizeGb": 64,
            "authorizedIpRanges": ["52.140.10.0/24"],
            "aksTier": "Standard",
        }
    ).one(t.CLUSTER)
    cluster = resource.inputs
    assert cluster["kubernetesVersion"] == "1.33"
    assert resource.ignore_changes == ["agentPoolProfiles[*].maxPods"], "a declared version is managed"
    (pool,) = cluster["agentPoolProfiles"]
    assert pool["orchestratorVersion"] == "1.33", "the pool follows the control plane"
    assert (pool["vmSize"], pool["count"], pool["availabilityZones"]) == ("Standard_D4ds_v5", 3, ["1", "2", "3"])
    assert (pool["osDiskType"], pool["osDiskSizeGB"]) == ("Ephemeral", 64)
    assert cluster["apiServerAccessProfile"] == {"authorizedIPRanges": ["52.140.10.0/24"]}
    assert cluster["sku"]["tier"] == "Standard"


def test_monitoring_adds_container_insights_with_entra_auth() -> None:
    ev = evaluate({"monitoring": True})
    workspace, cluster = ev.one(t.WORKSPACE), ev.one(t.CLUSTER)
    oms = cluster.inputs["addonProfiles"]["omsagent"]
    assert oms["enabled"] is True
    assert oms["config"] == {"logAnalyticsWorkspaceResourceID": workspace.id, "useAADAuth": "true"}


@pytest.mark.parametrize(
    ("delivery", "role"),
    [("sdk", t.AKS_RBAC_WRITER), ("csi", t.AKS_RBAC_ADMIN), ("both", t.AKS_RBAC_ADMIN)],
)
def test_deployer_gets_one_aks_role_on_the_demo_namespace_only(delivery: str, role: str) -> None:
    """RBAC Writer holds no data action for custom resources; with a SecretProviderClass to write, the
    deployer needs RBAC Admin (managedClusters/*), still on the one namespace."""
    ev = evaluate({"secretDelivery": delivery})
    cluster, namespace = ev.one(t.CLUSTER), ev.one(t.MANAGED_NAMESPACE)
    (assignment,) = [a for a in ev.of_type(t.ROLE_ASSIGNMENT) if role_guid(a) in (t.AKS_RBAC_WRITER, t.AKS_RBAC_ADMIN)]
    assert role_guid(assignment) == role
    assert assignment.inputs["principalId"] == "d3b07384-d9a0-4c9b-8f1e-0a1b2c3d4e5f"  # getClientConfig().objectId
    assert assignment.inputs["scope"] == f"{cluster.id}/namespaces/{namespace.outputs['name']}"


def test_kubernetes_provider_uses_non_interactive_kubelogin_and_waits_for_rbac(dev: Evaluation) -> None:
    provider = dev.one(t.K8S_PROVIDER)
    kubeconfig = provider.inputs["kubeconfig"]
    assert "- azurecli" in kubeconfig
    assert "devicecode" not in kubeconfig
    assert provider.raw_inputs["kubeconfig"] != kubeconfig, "kubeconfig must be a secret"
    wait = dev.named("namespace-workload-identity-demo-rbac-ready")
    writer = dev.named("namespace-workload-identity-demo-deployer-writer")
    assert {wait.urn, writer.urn} <= set(provider.dependencies)
    assert wait.inputs["stdin"] == kubeconfig
    assert wait.inputs["environment"]["NAMESPACE"] == dev.one(t.MANAGED_NAMESPACE).outputs["name"]
    # The script checks that kubelogin signs in as the principal that holds the role.
    assert wait.inputs["environment"]["DEPLOYER_OBJECT_ID"] == writer.inputs["principalId"] == DEPLOYER_OBJECT_ID
    assert wait.inputs["environment"]["ROLE_NAME"] == "Azure Kubernetes Service RBAC Admin"  # dev mounts with csi
    assert wait.inputs["triggers"] == [writer.id]
    assert "listManagedClusterUserCredentials" in " ".join(dev.invokes)
    # An unreachable cluster must not silently drop objects from state on refresh.
    assert "deleteUnreachable" not in provider.inputs


@pytest.mark.parametrize("mode", ["workloadidentity", "spn"])
def test_kubelogin_mode_is_configurable_for_ci(mode: str) -> None:
    kubeconfig = evaluate({"kubeloginMode": mode}).one(t.K8S_PROVIDER).inputs["kubeconfig"]
    assert f"- {mode}" in kubeconfig


def test_keeping_local_accounts_uses_the_admin_kubeconfig_and_grants_nothing() -> None:
    ev = evaluate({"disableLocalAccounts": False})
    assert ev.one(t.CLUSTER).inputs["disableLocalAccounts"] is False
    assert "listManagedClusterAdminCredentials" in " ".join(ev.invokes)
    assert "kubelogin" not in ev.one(t.K8S_PROVIDER).inputs["kubeconfig"]
    assert not [a for a in ev.of_type(t.ROLE_ASSIGNMENT) if role_guid(a) in (t.AKS_RBAC_WRITER, t.AKS_RBAC_ADMIN)]
    assert not [c for c in ev.of_type(t.COMMAND) if c.name.endswith("rbac-ready")]


# 6. Least privilege across the whole stack.
def test_no_broad_role_anywhere(dev: Evaluation) -> None:
    granted = {role_guid(a) for a in dev.of_type(t.ROLE_ASSIGNMENT)}
    assert granted == {t.ACR_PULL, t.KEY_VAULT_SECRETS_USER, t.AKS_RBAC_ADMIN}  # dev reads with csi too
    assert not granted & {t.OWNER, t.CONTRIBUTOR, t.USER_ACCESS_ADMINISTRATOR, t.AKS_RBAC_CLUSTER_ADMIN}


def test_workload_identity_holds_secrets_user_on_the_secret_and_nothing_else(dev: Evaluation) -> None:
    identity, secret = dev.one(t.IDENTITY), dev.one(t.SECRET)
    mine = [a for a in dev.of_type(t.ROLE_ASSIGNMENT) if a.inputs["principalId"] == identity.outputs["principalId"]]
    assert len(mine) == 1
    (grant,) = mine
    assert role_guid(grant) == t.KEY_VAULT_SECRETS_USER
    assert grant.inputs["scope"] == secret.id
    assert grant.inputs["principalType"] == "ServicePrincipal"


# 7. Namespace and ServiceAccount.
def test_namespace_is_dedicated_and_enforces_restricted_pod_security(dev: Evaluation) -> None:
    namespace = dev.one(t.MANAGED_NAMESPACE)
    assert namespace.inputs["managedNamespaceName"] == "workload-identity-demo"
    assert namespace.inputs["resourceName"] == dev.one(t.CLUSTER).outputs["name"]
    props = namespace.inputs["properties"]
    assert props["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert props["defaultNetworkPolicy"] == {"ingress": "DenyAll", "egress": "DenyAll"}
    assert props["deletePolicy"] == "Delete"


def test_service_account_does_not_mount_an_api_token(dev: Evaluation) -> None:
    assert dev.one(t.SERVICE_ACCOUNT).inputs["automountServiceAccountToken"] is False
    pod = dev.one(t.JOB, t.SDK_JOB).inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False


# 8. The demo Job.
def test_job_pod_is_hardened(dev: Evaluation) -> None:
    pod = dev.one(t.JOB, t.SDK_JOB).inputs["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsGroup"] >= 10000
    (container,) = pod["containers"]
    # Again on the container, where a later edit to the pod could not silently weaken it.
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert "runAsUser" not in sc or sc["runAsUser"] >= 10000
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert pod["restartPolicy"] == "Never"


def test_job_is_bounded_and_a_green_up_means_it_completed(dev: Evaluation) -> None:
    job = dev.one(t.JOB, t.SDK_JOB)
    spec, annotations = job.inputs["spec"], job.inputs["metadata"]["annotations"]
    budget = 600  # the default appRetryBudgetSeconds: Key Vault RBAC can take up to 10 minutes
    (container,) = spec["template"]["spec"]["containers"]
    assert {"name": "RETRY_BUDGET_SECONDS", "value": str(budget)} in container["env"]
    assert spec["activeDeadlineSeconds"] > budget
    assert spec["ttlSecondsAfterFinished"] >= 86400, "logs stay readable for a day"
    assert int(annotations["pulumi.com/timeoutSeconds"]) > spec["activeDeadlineSeconds"]
    assert annotations["pulumi.com/replaceUnready"] == "true"
    assert "pulumi.com/skipAwait" not in annotations
    assert job.delete_before_replace is True


def test_a_failed_read_fails_the_up_at_once_and_a_disrupted_pod_runs_again(dev: Evaluation) -> None:
    """The app retries what is transient; the exit it ends with fails the Job in a way pulumi-kubernetes
    reports at once (a FailJob rule's PodFailurePolicy made `up` wait for its whole timeout)."""
    for job in [*dev.of_type(t.JOB), *evaluate(THREE_WORKLOADS).of_type(t.JOB)]:
        spec = job.inputs["spec"]
        for exit_code in (1, 4, 8, 11):
            assert job_failure(spec, exit_code=exit_code) in JOB_FAILS_AT_ONCE, (job.name, exit_code)
        assert job_failure(spec, exit_code=137, disrupted=True) is None, "a drained node's pod counts as a failure"


def test_job_deadlines_follow_the_app_retry_budget() -> None:
    job = evaluate({"appRetryBudgetSeconds": 900}).one(t.JOB, t.SDK_JOB)
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["RETRY_BUDGET_SECONDS"] == "900"
    assert job.inputs["spec"]["activeDeadlineSeconds"] > 900
    assert int(job.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) > 900


def test_network_policy_denies_ingress_and_allows_only_dns_and_https_out(dev: Evaluation) -> None:
    policy = dev.one(t.NETWORK_POLICY, "demo-egress").inputs["spec"]
    job_labels = dev.one(t.JOB, t.SDK_JOB).inputs["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= job_labels.items()
    # Ingress listed with no rules: all ingress denied.
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy
    ports = [(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]]
    assert sorted(ports) == [("TCP", 53), ("TCP", 443), ("UDP", 53)]


# 10. Stack outputs.
def test_outputs_tell_the_user_everything_and_leak_nothing(dev: Evaluation) -> None:
    expected = {
        "resourceGroupName",
        "clusterName",
        "clusterResourceGroupName",
        "oidcIssuerUrl",
        "keyVaultUri",
        "secretNames",
        "existingSecretNames",
        "retiredSecretNames",
        "registryName",
        "image",
        "workloads",
        "jobLogsCommand",
        "getCredentialsCommand",
        "kubeconfig",
    }
    assert set(dev.exports) == expected
    assert dev.secret_exports == {"kubeconfig"}
    assert dev.exports["clusterResourceGroupName"] == dev.exports["resourceGroupName"]
    identity = dev.one(t.IDENTITY)
    assert dev.exports["secretNames"] == ["demo-secret"]
    assert dev.exports["existingSecretNames"] == []
    assert dev.exports["retiredSecretNames"] == []  # none left behind yet (test_lifecycle_rename.py)
    assert dev.exports["workloads"] == {
        "demo": {
            # What the troubleshooting commands take: `az identity show -n`, `az role assignment list --assignee`.
            "identityName": identity.inputs["resourceName"],
            "clientId": identity.outputs["clientId"],
            "namespace": "workload-identity-demo",
            "serviceAccount": "keyvault-reader",
            "secrets": ["demo-secret"],
            "jobNames": ["demo-read-demo-secret", "demo-read-file-demo-secret"],
            "isolation": "not checked: it holds every secret this stack lists",
        }
    }
    # One command for both Jobs: their pods carry the part-of label, and each line names its pod.
    selector = "app.kubernetes.io/part-of=workload-identity-demo"
    assert (
        dev.exports["jobLogsCommand"]
        == f"kubectl logs --namespace workload-identity-demo --selector {selector} --prefix --tail=-1"
    )
    for job in dev.of_type(t.JOB):
        assert (
            job.inputs["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"]
            == "workload-identity-demo"
        )
    # Whatever subscription `az` has selected: the one the stack is in.
    assert dev.exports["getCredentialsCommand"] == (
        f"az aks get-credentials --subscription {SUBSCRIPTION_ID} --resource-group rg-wid-dev --name aks-wid-dev"
        " && kubelogin convert-kubeconfig -l azurecli"
    )
    assert dev.exports["oidcIssuerUrl"] == dev.one(t.CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]
    assert identity.inputs["resourceName"] == "id-wid-dev-workload"
    # What `az aks check-acr --acr` takes.
    assert dev.exports["registryName"] == dev.one(t.REGISTRY).inputs["registryName"]
    assert dev.exports["image"].startswith(f"{dev.exports['registryName']}.azurecr.io/")
    value = dev.one(t.RANDOM_PASSWORD).outputs["result"]
    assert not any(value in str(v) for v in dev.exports.values())
