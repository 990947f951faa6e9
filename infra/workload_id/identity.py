"""A workload's Entra identity and its permissions: Key Vault Secrets User on exactly its secrets."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization, managedidentity

from . import roles
from .placement import Placement


class WorkloadIdentity(pulumi.ComponentResource):
    """A user-assigned managed identity that may read its own Key Vault secrets, nothing else."""

    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        identity_name: str,
        secret_ids: Mapping[str, pulumi.Input[str]],
        subscription_id: str,
        takes_over: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """secret_ids: the id of each secret it may read, by name. takes_over: the secret whose grant this
        identity takes over from a stack that had one identity and one secret (the component is aliased
        to that stack's `workload-identity`)."""
        aliases = [pulumi.Alias(name=LEGACY_NAME)] if takes_over else None
        super().__init__(
            "workloadid:azure:WorkloadIdentity",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)),
        )
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
        # Each grant scoped to its secret: the identity cannot even list the vault's other secrets.
        self.secrets_user = {
            secret: authorization.RoleAssignment(
                f"{name}-{secret}-secrets-user",
                principal_id=self.principal_id,
                # The identity is seconds old; without the type ARM may not find it yet.
                principal_type="ServicePrincipal",
                role_definition_id=roles.role_definition_id(subscription_id, roles.KEY_VAULT_SECRETS_USER),
                scope=secret_id,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    replace_on_changes=roles.REPLACE_ON_ROLE_CHANGE,
                    aliases=[pulumi.Alias(name=f"{LEGACY_NAME}-secrets-user")] if secret == takes_over else None,
                ),
            )
            for secret, secret_id in secret_ids.items()
        }
        self.register_outputs({"name": self.name, "clientId": self.client_id, "principalId": self.principal_id})


# What a stack with one workload and one secret named its identity component.
LEGACY_NAME = "workload-identity"
