"""Azure Container Registry for the demo image: Entra-only access, no admin user."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerregistry

from .config import AcrSku, ConfigError, ExistingResource, first_line
from .placement import Placement


class ContainerRegistry(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        registry_name: pulumi.Input[str],
        sku: AcrSku,
        existing: containerregistry.GetRegistryResult | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """existing: config.existing_registry as read_existing_registry found it; the stack only reads it."""
        super().__init__("workloadid:azure:ContainerRegistry", name, None, opts)
        if existing is not None:
            self.registry: containerregistry.Registry | None = None
            self.id = pulumi.Output.from_input(existing.id)
            self.name = pulumi.Output.from_input(existing.name)
            self.login_server = pulumi.Output.from_input(existing.login_server)
            self.register_outputs({"id": self.id, "name": self.name, "loginServer": self.login_server})
            return
        self.registry = containerregistry.Registry(
            name,
            registry_name=registry_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            sku={"name": sku},
            # Pulls use the kubelet identity (AcrPull), pushes the deployer's Entra token:
            # no shared password exists to leak.
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            # Zone redundancy is a Premium feature.
            zone_redundancy="Enabled" if sku == "Premium" else "Disabled",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.id = self.registry.id
        self.name = self.registry.name
        # Read from the live registry: in a preview of a registry update, its computed outputs are unknown.
        self.login_server = containerregistry.get_registry_output(
            resource_group_name=placement.resource_group_name, registry_name=self.registry.name
        ).login_server
        self.register_outputs({"id": self.id, "name": self.name, "loginServer": self.login_server})


def read_existing_registry(existing: ExistingResource) -> containerregistry.GetRegistryResult:
    """The existing registry, read once before anything is declared; refused in one line if unreadable."""
    try:
        return containerregistry.get_registry(resource_group_name=existing.resource_group, registry_name=existing.name)
    except Exception as err:
        raise ConfigError(
            f"config 'existingRegistry': registry {existing.name} in resource group {existing.resource_group}"
            f" cannot be read ({first_line(err)}). Fix: check the names, and that you may read it"
        ) from None
