"""Azure Container Registry for the demo image: Entra-only access, no admin user."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerregistry

from .config import AcrSku
from .placement import Placement


class ContainerRegistry(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        registry_name: pulumi.Input[str],
        sku: AcrSku,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("workloadid:azure:ContainerRegistry", name, None, opts)
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
