"""Key Vault in Azure RBAC mode holding the demo secret."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from datetime import datetime

import pulumi
import pulumi_random as random
import pulumiverse_time as time
from pulumi_azure_native import keyvault

from .config import StackConfig
from .placement import Placement

FINGERPRINT_LENGTH = 12


def fingerprint(value: str) -> str:
    """First hex characters of SHA-256: lets the demo app prove what it read without showing it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


class SecretStore(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        config: StackConfig,
        vault_name: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        allowed_ips: pulumi.Input[Sequence[str]] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """allowed_ips: addresses let through the firewall besides the configured ranges
        (the cluster's egress IPs when the default action is Deny)."""
        super().__init__("workloadid:azure:SecretStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        configured = list(config.key_vault_allowed_ip_ranges)
        network_acls: keyvault.NetworkRuleSetArgsDict = {
            "default_action": config.key_vault_network_default_action,
            # Nothing bypasses the firewall; secrets are written through ARM, which it does not gate.
            "bypass": "None",
            # In the form Azure returns them (a host as /32), so a refresh shows no diff.
            "ip_rules": pulumi.Output.from_input(allowed_ips).apply(
                lambda extra: [
                    keyvault.IPRuleArgsDict(value=str(ipaddress.ip_network(ip))) for ip in sorted({*configured, *extra})
                ]
            ),
        }
        vault_properties: keyvault.VaultPropertiesArgsDict = {
            "tenant_id": tenant_id,
            "sku": {"family": keyvault.SkuFamily.A, "name": keyvault.SkuName.STANDARD},
            # Data-plane access by Azure role assignments only; no access policies.
            "enable_rbac_authorization": True,
            "access_policies": [],
            "enable_soft_delete": True,
            "soft_delete_retention_in_days": config.key_vault_soft_delete_days,
            # ARM rejects an explicit false: purge protection can only be switched on.
            "enable_purge_protection": True if config.key_vault_purge_protection else None,
            "network_acls": network_acls,
            "public_network_access": "Enabled",
        }
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=vault_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            properties=vault_properties,
            opts=child,
        )

        # With secretRotationDays, a pulumiverse-time Rotating resource marks the period: a refresh after its
        # end drops it from the state (terraform-provider-time resource_time_rotating.go, Read: "removing from
        # state") and the next up creates it anew, with a new id and time. It keeps its time in state
        # meanwhile, so evaluations inside the period are identical.
        self.rotation = (
            time.Rotating(f"{name}-rotation", rotation_days=config.secret_rotation_days, opts=child)
            if config.secret_rotation_days is not None
            else None
        )
        value = self._value(name, config)
        self.value_fingerprint = pulumi.Output.secret(value.apply(fingerprint))
        attributes: keyvault.SecretAttributesArgsDict = {"enabled": True}
        if config.secret_expiry_days is not None:
            days = config.secret_expiry_days
            attributes["expires"] = self._set_time(name, config).apply(lambda at: expiry_epoch(at, days))
        properties: keyvault.SecretPropertiesArgsDict = {"value": value, "attributes": attributes}
        if config.secret_content_type is not None:
            properties["content_type"] = config.secret_content_type

        self.secret = keyvault.Secret(
            f"{name}-secret",
            secret_name=config.secret_name,
            vault_name=self.vault.name,
            resource_group_name=placement.resource_group_name,
            tags=placement.tags,
            properties=properties,
            opts=pulumi.ResourceOptions(
                parent=self,
                additional_secret_outputs=["properties"],
                # ARM cannot delete a secret: azure-native deletes it through the vault's data plane,
                # which the deployer may not use (no data role; prod's firewall). So Pulumi never deletes
                # it: on destroy it goes with the vault, and a renamed secret's old one stays in the vault.
                retain_on_delete=True,
            ),
        )

        self.vault_name = self.vault.name
        self.vault_id = self.vault.id
        # Read from the live vault: in a preview of a vault update, its computed outputs are unknown.
        live_vault = keyvault.get_vault_output(
            resource_group_name=placement.resource_group_name, vault_name=self.vault.name
        )
        self.vault_uri = live_vault.apply(lambda v: v.properties.vault_uri or "")
        self.secret_id = self.secret.id
        self.secret_name = self.secret.name
        self.register_outputs(
            {
                "vaultId": self.vault_id,
                "vaultUri": self.vault_uri,
                "secretId": self.secret_id,
                "secretName": self.secret_name,
            }
        )

    def _value(self, name: str, config: StackConfig) -> pulumi.Output[str]:
        """The configured value, or a generated one that is replaced with each rotation (its keeper)."""
        if config.secret_value is not None:
            return pulumi.Output.secret(config.secret_value)
        keepers = {"rotation": self.rotation.id} if self.rotation is not None else None
        generated = random.RandomPassword(
            f"{name}-value", length=32, special=False, keepers=keepers, opts=pulumi.ResourceOptions(parent=self)
        )
        return pulumi.Output.secret(generated.result)

    def _set_time(self, name: str, config: StackConfig) -> pulumi.Output[str]:
        """When the value was last set (RFC 3339), which the expiry date counts from."""
        if self.rotation is not None and config.secret_value is None:
            return self.rotation.rfc3339
        # A configured value changes outside any schedule; a Static time is taken at each change (and
        # each rotation, which renews its expiry).
        triggers: dict[str, pulumi.Input[str]] = {"value": self.value_fingerprint}
        if self.rotation is not None:
            triggers["rotation"] = self.rotation.id
        return time.Static(f"{name}-set-at", triggers=triggers, opts=pulumi.ResourceOptions(parent=self)).rfc3339


def expiry_epoch(set_at_rfc3339: str, days: int) -> int:
    """Unix time `days` after the RFC 3339 time the value was set (Key Vault's `exp` attribute)."""
    at = datetime.fromisoformat(set_at_rfc3339.replace("Z", "+00:00"))
    return int(at.timestamp()) + days * 86400
