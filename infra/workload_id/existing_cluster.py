"""An existing AKS cluster (existingCluster): read once before anything is declared, and refused in one line,
with the `az aks` command that fixes it, when it lacks what Workload ID and this stack rely on."""

from __future__ import annotations

from pulumi_azure_native import containerservice

from .config import ConfigError, ExistingResource

# The add-on's key in the cluster's addonProfiles (ARM's spelling; compared without case).
CSI_ADDON = "azureKeyvaultSecretsProvider"


def read_existing_cluster(
    existing: ExistingResource, *, needs_csi: bool, needs_egress_ips: bool
) -> containerservice.GetManagedClusterResult:
    """The cluster as ARM reports it; refused if it cannot federate, sign the stack in with Entra ID and Azure
    RBAC, pull with a kubelet identity, or (with `needs_csi`) mount secrets as files."""
    where = f"cluster {existing.name} in resource group {existing.resource_group}"
    try:
        found = containerservice.get_managed_cluster(
            resource_group_name=existing.resource_group, resource_name=existing.name
        )
    except Exception as err:
        raise ConfigError(
            f"config 'existingCluster': {where} cannot be read ({str(err).splitlines()[0]}). Fix: check the names,"
            " and that you may read it (Reader on the cluster)"
        ) from None
    update = f"az aks update --resource-group {existing.resource_group} --name {existing.name}"
    problem = _missing(found, needs_csi=needs_csi, needs_egress_ips=needs_egress_ips)
    if problem is not None:
        lacks, fix = problem
        fix = fix.format(update=update, group=existing.resource_group, name=existing.name)
        raise ConfigError(f"config 'existingCluster': {where} {lacks}. Fix: {fix}")
    return found


def _missing(
    found: containerservice.GetManagedClusterResult, *, needs_csi: bool, needs_egress_ips: bool
) -> tuple[str, str] | None:
    """The first thing the cluster lacks, and the fix (a template of {update}, {group}, {name}); None if none."""
    issuer = found.oidc_issuer_profile
    if issuer is None or not issuer.enabled or not issuer.issuer_url:
        return "has no OIDC issuer (nothing for Entra ID to trust)", "{update} --enable-oidc-issuer"
    security = found.security_profile
    if security is None or security.workload_identity is None or not security.workload_identity.enabled:
        return (
            "has workload identity off (no webhook injects the token the SDK exchanges)",
            "{update} --enable-workload-identity",
        )
    aad = found.aad_profile
    if aad is None or not aad.managed:
        return (
            "does not use AKS-managed Entra ID (the stack signs in with kubelogin and grants Azure RBAC roles)",
            "{update} --enable-aad --enable-azure-rbac",
        )
    if not aad.enable_azure_rbac:
        return (
            "has Azure RBAC for Kubernetes off (the deployer's role is granted on each namespace through it)",
            "{update} --enable-azure-rbac",
        )
    kubelet = (found.identity_profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        return (
            "has no kubelet managed identity (nodes pull the image with it)",
            "{update} --enable-managed-identity, then az aks upgrade --node-image-only",
        )
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
            "sends from no managed outbound IPs (a NAT gateway or your own route) for keyVaultNetworkDefaultAction"
            " Deny to allow",
            "pulumi config set keyVaultNetworkDefaultAction Allow",
        )
    return None


def egress_ip_ids(cluster: containerservice.GetManagedClusterResult) -> list[str]:
    """The ids of the public IPs the cluster's managed outbound load balancer sends from."""
    profile = cluster.network_profile
    balancer = profile.load_balancer_profile if profile is not None else None
    return [ref.id for ref in (balancer.effective_outbound_ips if balancer else None) or [] if ref.id]
