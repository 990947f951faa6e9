"""The workload's Entra identity and its one permission."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, managedidentity

from . import roles
from .placement import Placement


class WorkloadIdentity(pulumi.ComponentResource):
    """A user-assigned managed identity that may read one Key Vault secret, nothing else."""

    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        identity_name: str,
        secret_id: pulumi.Input[str],
        subscription_id: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("workloadid:azure:WorkloadIdentity", name, None, opts)
        self.identity = managedidentity.UserAssignedIdentity(
            name,
            resource_name_=identity_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Read from the live identity: in a preview of an identity update, its computed outputs are unknown.
        live = managedidentity.get_user_assigned_identity_output(
            resource_group_name=placement.resource_group_name, resource_name=self.identity.name
        )
        self.name = self.identity.name
        self.client_id = live.client_id
        self.principal_id = live.principal_id
        # Scoped to the secret itself: the identity cannot even list the vault's other secrets.
        self.secrets_user = authorization.RoleAssignment(
            f"{name}-secrets-user",
            principal_id=self.principal_id,
            # The identity is seconds old; without the type ARM may not find it yet.
            principal_type="ServicePrincipal",
            role_definition_id=roles.role_definition_id(subscription_id, roles.KEY_VAULT_SECRETS_USER),
            scope=secret_id,
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=roles.REPLACE_ON_ROLE_CHANGE),
        )
        self.register_outputs({"name": self.name, "clientId": self.client_id, "principalId": self.principal_id})
