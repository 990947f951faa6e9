"""What the stack uses but does not own (existingCluster, existingKeyVault, existingRegistry, secrets marked
existing): each read once, and refused in one line if unusable, before anything is declared."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pulumi_azure_native import containerregistry, containerservice, keyvault

from .config import StackConfig
from .existing_cluster import read_existing_cluster
from .registry import read_existing_registry
from .secret_store import read_existing_vault, read_referenced_secrets, secrets_to_adopt


@dataclass(frozen=True)
class ExistingResources:
    cluster: containerservice.GetManagedClusterResult | None = None
    vault: keyvault.GetVaultResult | None = None
    registry: containerregistry.GetRegistryResult | None = None
    # name -> id of each secret the vault holds that the stack only grants reading (existing: true)
    referenced_secrets: dict[str, str] = field(default_factory=dict)
    # name -> id of each secret of this stack's the vault kept (after a destroy, or kept on delete): adopted
    kept_secrets: dict[str, str] = field(default_factory=dict)


def read_existing(config: StackConfig, tags: Mapping[str, str]) -> ExistingResources:
    """Every existing resource the configuration names; `tags`: the stack's, which mark its own secrets."""
    cluster = (
        read_existing_cluster(
            config.existing_cluster,
            needs_csi=config.reads_with_csi,
            # A closed vault firewall lets the cluster's egress IPs in, unless the ranges to allow are listed.
            needs_egress_ips=config.closes_vault_firewall and not config.key_vault_allowed_ip_ranges,
        )
        if config.existing_cluster
        else None
    )
    registry = read_existing_registry(config.existing_registry) if config.existing_registry else None
    vault_key = config.existing_key_vault
    if vault_key is None:
        return ExistingResources(cluster=cluster, registry=registry)
    return ExistingResources(
        cluster=cluster,
        vault=read_existing_vault(vault_key),
        registry=registry,
        referenced_secrets=read_referenced_secrets(vault_key, config.existing_secret_names),
        kept_secrets=secrets_to_adopt(vault_key, config.written_secret_names, tags),
    )
