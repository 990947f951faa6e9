"""An existing AKS cluster (existingCluster): read once before anything is declared, and refused in one line,
with the `az aks` command that fixes it, when it lacks what Workload ID and this stack rely on. What each
needs and each fix: the AKS docs (workload-identity-deploy-cluster.md, entra-id-control-plane-authentication.md,
managed-namespaces.md, use-network-policies.md, csi-secrets-store-driver.md); the flags: azure-cli's acs
module (_params.py)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerservice

from .cluster import CSI_ADDON, egress_ip_ids
from .config import ConfigError, ExistingResource, first_line


def read_existing_cluster(
    existing: ExistingResource, *, needs_csi: bool, needs_egress_ips: bool
) -> containerservice.GetManagedClusterResult:
    """The cluster as ARM reports it; refused if it cannot federate, sign the stack in with Entra ID and Azure
    RBAC, enforce the namespaces' network policies, pull with a kubelet identity, (with `needs_csi`) mount
    secrets as files, or (with `needs_egress_ips`) name the IPs it sends from."""
    where = f"cluster {existing.name} in resource group {existing.resource_group}"
    try:
        found = containerservice.get_managed_cluster(
            resource_group_name=existing.resource_group, resource_name=existing.name
        )
    except Exception as err:
        raise ConfigError(
            f"config 'existingCluster': {where} cannot be read ({first_line(err)}). Fix: check the names,"
            " and that you may read it (Reader on the cluster)"
        ) from None
    update = f"az aks update --resource-group {existing.resource_group} --name {existing.name}"
    problem = _missing(found, needs_csi=needs_csi, needs_egress_ips=needs_egress_ips)
    if problem is not None:
        lacks, fix = problem
        fix = fix.format(update=update, group=existing.resource_group, name=existing.name)
        raise ConfigError(f"config 'existingCluster': {where} {lacks}. Fix: {fix}")
    access = found.api_server_access_profile
    if access is not None and access.enable_private_cluster:
        pulumi.log.warn(
            f"{where} is private: run up from a network that reaches its API server (the Kubernetes provider, the"
            " waits and the Jobs' checks all call it from here)"
        )
    return found


def _missing(
    found: containerservice.GetManagedClusterResult, *, needs_csi: bool, needs_egress_ips: bool
) -> tuple[str, str] | None:
    """The first thing the cluster lacks, and the fix (a template of {update}, {group}, {name}); None if none."""
    for check in (_federation, _entra, _network_policy, _kubelet):
        problem = check(found)
        if problem is not None:
            return problem
    addons = {key.lower(): profile for key, profile in (found.addon_profiles or {}).items()}
    csi = addons.get(CSI_ADDON.lower())
    if needs_csi and (csi is None or not csi.enabled):
        return (
            "has the Secrets Store CSI driver add-on off, and a workload reads its secrets as files",
            "az aks enable-addons --resource-group {group} --name {name} --addons azure-keyvault-secrets-provider"
            " --enable-secret-rotation",
        )
    if needs_egress_ips and not egress_ip_ids(found):
        return (
            "sends from no managed outbound IPs (your own NAT gateway or route) for keyVaultNetworkDefaultAction"
            " Deny to allow",
            "list its egress ranges: pulumi config set --path 'keyVaultAllowedIpRanges[0]' <range>, or pulumi"
            " config set keyVaultNetworkDefaultAction Allow",
        )
    return None


def _federation(found: containerservice.GetManagedClusterResult) -> tuple[str, str] | None:
    issuer = found.oidc_issuer_profile
    has_issuer = issuer is not None and bool(issuer.enabled) and bool(issuer.issuer_url)
    security = found.security_profile
    webhook = security is not None and security.workload_identity is not None and security.workload_identity.enabled
    if not has_issuer:
        # Once on, the issuer cannot be turned off again (use-oidc-issuer.md).
        flags = "--enable-oidc-issuer" + ("" if webhook else " --enable-workload-identity")
        return "has no OIDC issuer (nothing for Entra ID to trust)", "{update} " + flags
    if not webhook:
        return (
            "has workload identity off (no webhook injects the token the SDK exchanges)",
            "{update} --enable-workload-identity",
        )
    return None


def _entra(found: containerservice.GetManagedClusterResult) -> tuple[str, str] | None:
    if found.enable_rbac is False:
        return (
            "has Kubernetes RBAC off, which AKS cannot turn on in place (Entra ID and Azure RBAC need it)",
            "use a cluster created with Kubernetes RBAC (the default)",
        )
    aad = found.aad_profile
    if aad is None or not aad.managed:
        return (
            "does not use AKS-managed Entra ID (the stack signs in with kubelogin and grants Azure RBAC roles)",
            "{update} --enable-aad --aad-admin-group-object-ids <your admin group> --enable-azure-rbac",
        )
    if not aad.enable_azure_rbac:
        return (
            "has Azure RBAC for Kubernetes off (the deployer's role is granted on each namespace through it)",
            "{update} --enable-azure-rbac",
        )
    return None


def _network_policy(found: containerservice.GetManagedClusterResult) -> tuple[str, str] | None:
    """The managed namespaces' default deny and the workloads' NetworkPolicies need an engine to enforce them."""
    profile = found.network_profile
    engine = (profile.network_policy if profile is not None else None) or "none"
    if engine.lower() == "none":
        return (
            "enforces no network policy (the namespaces' default deny and the workloads' policies would be ignored)",
            "{update} --network-policy azure (or calico; or move to Azure CNI powered by Cilium)",
        )
    return None


def _kubelet(found: containerservice.GetManagedClusterResult) -> tuple[str, str] | None:
    kubelet = (found.identity_profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        return (
            "has no kubelet managed identity (nodes pull the image with it)",
            "{update} --enable-managed-identity, then for each node pool az aks nodepool upgrade --resource-group"
            " {group} --cluster-name {name} --name <pool> --node-image-only (the kubelet moves with the node image)",
        )
    return None
