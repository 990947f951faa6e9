"""AKS with the OIDC issuer and workload identity, Entra ID auth and Azure RBAC."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization, containerservice, monitor, network, operationalinsights

from . import roles
from .config import StackConfig
from .kubeconfig import decode_kubeconfig, non_interactive_kubeconfig
from .placement import Placement

# The AKS add-on of the Secrets Store CSI driver and its Azure Key Vault provider (ARM's spelling; it comes back
# so, but is compared without case where read).
CSI_ADDON = "azureKeyvaultSecretsProvider"
# Explicit (AKS's overlay default is 250): the kubelet reserves memory per possible pod, and
# 110 is Kubernetes' own per-node ceiling. Fixed when a pool is created, so changes are ignored:
# a pool created with another value (before it was set here) keeps it.
MAX_PODS_PER_NODE = 110


class AksCluster(pulumi.ComponentResource):
    """The cluster the workloads run on: created here, or (existingCluster) one the stack only reads and
    never changes. Either way: its issuer, kubelet identity and a kubeconfig, and AcrPull for the kubelet."""

    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        config: StackConfig,
        cluster_name: str,
        tenant_id: pulumi.Input[str],
        subscription_id: str,
        registry_id: pulumi.Input[str],
        existing: containerservice.GetManagedClusterResult | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """existing: config.existing_cluster as read_existing_cluster found it."""
        super().__init__("workloadid:azure:AksCluster", name, None, opts)
        self.cluster: containerservice.ManagedCluster | None = None
        if existing is None:
            self.cluster = self._create(name, placement, config, cluster_name, tenant_id)
            self.name = self.cluster.name
            self.id = self.cluster.id
            # Its own resource group and region (an existing cluster's may differ from the stack's).
            self.resource_group_name = placement.resource_group_name
            self.location: pulumi.Input[str] = placement.location
            # What Azure computed (issuer, kubelet identity, egress IPs) is read back from the live cluster:
            # in a preview of an update, the resource's own computed outputs are unknown, and everything
            # reading them would show as changed. The name is unknown until the cluster exists, which
            # keeps the read after its creation.
            self._live = containerservice.get_managed_cluster_output(
                resource_group_name=placement.resource_group_name, resource_name=self.cluster.name
            )
        else:
            assert config.existing_cluster is not None, "read_existing_cluster(config.existing_cluster) first"
            self.name = pulumi.Output.from_input(existing.name)
            self.id = pulumi.Output.from_input(existing.id)
            self.resource_group_name = pulumi.Output.from_input(config.existing_cluster.resource_group)
            self.location = existing.location
            self._live = pulumi.Output.from_input(existing)
        self.oidc_issuer_url = self._live.apply(lambda c: _issuer_url(c.oidc_issuer_profile))
        self.kubelet_object_id = self._live.apply(lambda c: _kubelet_object_id(c.identity_profile))
        # What a step that needs the cluster's current add-ons must follow: its create or update.
        self.changes: list[pulumi.Resource] = [self.cluster] if self.cluster is not None else []

        # Nodes pull the demo image with the kubelet identity: AcrPull on this registry only (unless it
        # already holds it: grantKubeletAcrPull).
        self.kubelet_acr_pull = (
            authorization.RoleAssignment(
                f"{name}-kubelet-acrpull",
                principal_id=self.kubelet_object_id,
                principal_type="ServicePrincipal",
                role_definition_id=roles.role_definition_id(subscription_id, roles.ACR_PULL),
                scope=registry_id,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    replace_on_changes=roles.REPLACE_ON_ROLE_CHANGE,
                    # The team's kubelet on the team's registry: a later `az aks update --attach-acr` takes this
                    # assignment for its own (it treats RoleAssignmentExists as done), so a destroy keeps it.
                    retain_on_delete=existing is not None and config.existing_registry is not None,
                ),
            )
            if config.grant_kubelet_acr_pull
            else None
        )

        # An existing cluster is always signed in to with Entra ID (kubelogin), as the deployer, whatever its own
        # setting: its admin certificate would bypass the per-namespace roles (config refuses disableLocalAccounts
        # false beside existingCluster; the credentials are chosen here, so the rule is stated here too).
        self.uses_local_accounts = existing is None and not config.disable_local_accounts
        if self.uses_local_accounts:
            admin_credentials = containerservice.list_managed_cluster_admin_credentials_output(
                resource_group_name=self.resource_group_name, resource_name=self.name
            )
            kubeconfig = admin_credentials.apply(lambda c: decode_kubeconfig(c.kubeconfigs[0].value))
        else:
            user_credentials = containerservice.list_managed_cluster_user_credentials_output(
                resource_group_name=self.resource_group_name, resource_name=self.name, format="exec"
            )
            mode = config.kubelogin_mode
            kubeconfig = user_credentials.apply(lambda c: non_interactive_kubeconfig(c.kubeconfigs[0].value, mode))
        self.kubeconfig = pulumi.Output.secret(kubeconfig)

        self.register_outputs(
            {
                "name": self.name,
                "id": self.id,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeletObjectId": self.kubelet_object_id,
            }
        )

    def _create(
        self,
        name: str,
        placement: Placement,
        config: StackConfig,
        cluster_name: str,
        tenant_id: pulumi.Input[str],
    ) -> containerservice.ManagedCluster:
        workspace: operationalinsights.Workspace | None = None
        if config.monitoring:
            workspace = operationalinsights.Workspace(
                f"{name}-logs",
                resource_group_name=placement.resource_group_name,
                location=placement.location,
                tags=placement.tags,
                sku={"name": "PerGB2018"},
                retention_in_days=30,
                opts=pulumi.ResourceOptions(parent=self),
            )
        system_pool, ignored = _system_pool(config)
        cluster = containerservice.ManagedCluster(
            name,
            resource_name_=cluster_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            dns_prefix=cluster_name,
            kubernetes_version=config.kubernetes_version,
            sku={"name": "Base", "tier": config.aks_tier},
            identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
            agent_pool_profiles=[system_pool],
            # Workload ID: the cluster publishes its service-account token issuer and the
            # mutating webhook projects a token Entra ID will exchange.
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            # Entra ID for people and pipelines, Azure RBAC for what they may do.
            enable_rbac=True,
            aad_profile={"managed": True, "enable_azure_rbac": True, "tenant_id": tenant_id},
            disable_local_accounts=config.disable_local_accounts,
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                "network_dataplane": "cilium",
                "network_policy": "cilium",
                "load_balancer_sku": "standard",
            },
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            api_server_access_profile=(
                {"authorized_ip_ranges": list(config.authorized_ip_ranges)} if config.authorized_ip_ranges else None
            ),
            addon_profiles=_addon_profiles(config, workspace) or None,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=ignored),
        )
        if workspace is not None:
            self._collect_container_insights(name, placement, workspace, cluster)
        return cluster

    def _collect_container_insights(
        self,
        name: str,
        placement: Placement,
        workspace: operationalinsights.Workspace,
        cluster: containerservice.ManagedCluster,
    ) -> None:
        """With Entra ID auth, the monitoring agent ships only what a data collection rule
        associated with the cluster asks for (the Azure CLI creates these; ARM does not)."""
        stream = "Microsoft-ContainerInsights-Group-Default"
        rule = monitor.DataCollectionRule(
            f"{name}-container-insights",
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            kind="Linux",
            data_sources={
                "extensions": [
                    {
                        "name": "ContainerInsightsExtension",
                        "extension_name": "ContainerInsights",
                        "streams": [stream],
                        "extension_settings": {
                            "dataCollectionSettings": {"interval": "1m", "namespaceFilteringMode": "Off"}
                        },
                    }
                ]
            },
            destinations={"log_analytics": [{"name": "workspace", "workspace_resource_id": workspace.id}]},
            data_flows=[{"streams": [stream], "destinations": ["workspace"]}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights",
            association_name="ContainerInsightsExtension",
            resource_uri=cluster.id,
            data_collection_rule_id=rule.id,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def egress_ips(self) -> pulumi.Output[list[str]]:
        """The public IPs the cluster's pods leave through (its managed load balancer's or NAT gateway's)."""

        def lookup(cluster: containerservice.GetManagedClusterResult) -> pulumi.Output[list[str]]:
            ids = egress_ip_ids(cluster)
            if not ids and self.cluster is not None:
                raise ValueError("the cluster reports no outbound IPs (networkProfile.loadBalancerProfile)")
            # An existing cluster behind its owner's NAT gateway or route: keyVaultAllowedIpRanges lists its egress
            # (read_existing_cluster refuses it otherwise).
            addresses = [
                network.get_public_ip_address_output(
                    resource_group_name=rid.split("/")[4], public_ip_address_name=rid.split("/")[-1]
                ).apply(lambda ip: ip.ip_address or "")
                for rid in ids
            ]
            return pulumi.Output.all(*addresses)

        return self._live.apply(lookup)


def _addon_profiles(
    config: StackConfig, workspace: operationalinsights.Workspace | None
) -> dict[str, containerservice.ManagedClusterAddonProfileArgsDict]:
    profiles: dict[str, containerservice.ManagedClusterAddonProfileArgsDict] = {}
    if workspace is not None:
        profiles["omsagent"] = {
            "enabled": True,
            "config": {"logAnalyticsWorkspaceResourceID": workspace.id, "useAADAuth": "true"},
        }
    if config.reads_with_csi:
        # The Secrets Store CSI driver with its Azure provider. Both keys are sent, as strings (the
        # add-on's config is a string map): rotation re-reads each mounted object every poll interval.
        profiles[CSI_ADDON] = {
            "enabled": True,
            "config": {"enableSecretRotation": "true", "rotationPollInterval": config.csi_rotation_poll_interval},
        }
    else:
        # Said explicitly: AKS keeps an add-on that a PUT leaves out, so leaving csi must switch it off.
        profiles[CSI_ADDON] = {"enabled": False}
    return profiles


def _system_pool(config: StackConfig) -> tuple[containerservice.ManagedClusterAgentPoolProfileArgsDict, list[str]]:
    """The one node pool, and the cluster properties whose changes are ignored."""
    pool: containerservice.ManagedClusterAgentPoolProfileArgsDict = {
        "name": "system",
        "mode": "System",
        "type": "VirtualMachineScaleSets",
        "os_type": "Linux",
        "os_sku": "AzureLinux",
        "vm_size": config.node_vm_size,
        "count": config.node_count,
        "os_disk_type": config.node_os_disk_type,
        "max_pods": MAX_PODS_PER_NODE,
    }
    if config.node_os_disk_size_gb is not None:
        pool["os_disk_size_gb"] = config.node_os_disk_size_gb
    if config.availability_zones:
        pool["availability_zones"] = list(config.availability_zones)
    ignored = ["agentPoolProfiles[*].maxPods"]
    if config.kubernetes_version is not None:
        # Declared on the control plane and the pool alike: a minor version reads back as given.
        pool["orchestrator_version"] = config.kubernetes_version
    else:
        # Left to AKS: it reports the patch it runs, and the 'patch' channel moves it; a refresh
        # would copy each new patch into the inputs and the next preview would show removing it.
        ignored += ["kubernetesVersion", "agentPoolProfiles[*].orchestratorVersion"]
    return pool, ignored


def _issuer_url(profile: containerservice.outputs.ManagedClusterOIDCIssuerProfileResponse | None) -> str:
    if profile is None or not profile.issuer_url:
        raise ValueError("the cluster reports no OIDC issuer (oidcIssuerProfile.issuerURL)")
    return profile.issuer_url


def _kubelet_object_id(
    profile: Mapping[str, containerservice.outputs.UserAssignedIdentityManagedClusterResponse] | None,
) -> str:
    kubelet = (profile or {}).get("kubeletidentity")
    object_id = kubelet.object_id if kubelet is not None else None
    if not object_id:
        raise ValueError("the cluster reports no kubelet identity (identityProfile.kubeletidentity.objectId)")
    return object_id


def egress_ip_ids(cluster: containerservice.GetManagedClusterResult) -> list[str]:
    """The ids of the public IPs the cluster sends from: its managed outbound load balancer's, or its managed NAT
    gateway's; none with your own NAT gateway or route (userAssignedNATGateway, userDefinedRouting)."""
    profile = cluster.network_profile
    outbound = (profile.outbound_type if profile is not None else None) or "loadBalancer"
    if profile is not None and outbound == "managedNATGateway":
        gateway = profile.nat_gateway_profile
        refs = gateway.effective_outbound_ips if gateway is not None else None
    elif profile is not None and outbound == "loadBalancer":
        balancer = profile.load_balancer_profile
        refs = balancer.effective_outbound_ips if balancer is not None else None
    else:
        refs = None  # its owner's NAT gateway or route: the load balancer's IPs (if any) are not where pods leave from
    return [ref.id for ref in refs or [] if ref.id]
