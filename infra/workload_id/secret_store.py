"""Key Vault in Azure RBAC mode holding the configured secrets."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import pulumi
import pulumi_random as random
import pulumiverse_time as time
from pulumi_azure_native import keyvault

from .config import ConfigError, ExistingResource, StackConfig, first_line
from .placement import Placement
from .workloads_config import SecretSpec

FINGERPRINT_LENGTH = 12  # hex characters
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_LENGTH = 20


@lru_cache(maxsize=1024)
def fingerprint(value: str, salt: str) -> str:
    """Salted scrypt (RFC 7914; N=2^14, r=8, p=1), 12 hex characters: what the app computes of what it read
    (app/read_secret/fingerprint.py), so a Job proves its read without the value. Whoever reads the Job (its
    expectation, with the salt beside it) or its log pays a scrypt computation per guess of a weak value."""
    data, salt_bytes = value.encode("utf-8"), salt.encode("utf-8")
    return hashlib.scrypt(
        data, salt=salt_bytes, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=FINGERPRINT_LENGTH // 2
    ).hex()


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
        adopt: Mapping[str, str] | None = None,
        existing_vault: keyvault.GetVaultResult | None = None,
        referenced: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """allowed_ips: addresses let through the firewall besides the configured ranges
        (the cluster's egress IPs when the default action is Deny). adopt: secret name -> the ARM id of
        the secret the vault kept from an earlier `up` (workload_id/history.py), imported, not created.
        existing_vault: config.existing_key_vault as read_existing_vault found it; the secrets go into that
        vault, which the stack only reads. referenced: name -> id of each `existing` secret, as
        read_referenced_secrets found it in that vault: only read, never written."""
        super().__init__("workloadid:azure:SecretStore", name, None, opts)
        existing = config.existing_key_vault
        if existing is None:
            self.vault: keyvault.Vault | None = self._own_vault(
                name, placement, config, vault_name, tenant_id, allowed_ips
            )
            self.vault_name: pulumi.Output[str] = self.vault.name
            self.vault_id: pulumi.Output[str] = self.vault.id
            vault_group: pulumi.Input[str] = placement.resource_group_name
            # Read from the live vault: in a preview of a vault update, its computed outputs are unknown.
            live_vault = keyvault.get_vault_output(resource_group_name=vault_group, vault_name=self.vault.name)
            self.vault_uri: pulumi.Output[str] = live_vault.apply(lambda v: v.properties.vault_uri or "")
        else:
            assert existing_vault is not None, "read_existing_vault(config.existing_key_vault) first"
            found = existing_vault
            self.vault = None
            self.vault_name = pulumi.Output.from_input(existing.name)
            self.vault_id = pulumi.Output.from_input(found.id)
            vault_group = existing.resource_group
            self.vault_uri = pulumi.Output.from_input(found.properties.vault_uri or "")
        # The first secret takes over the resources of the single secret the stack had before `secrets`.
        self.secrets: dict[str, StoredSecret | ReferencedSecret] = {
            spec.name: ReferencedSecret(f"{name}-{spec.name}", spec, (referenced or {})[spec.name], parent=self)
            if spec.existing
            else StoredSecret(
                f"{name}-{spec.name}",
                spec,
                placement=placement,
                vault_name=self.vault_name,
                vault_group=vault_group,
                parent=self,
                old_prefix=name if index == 0 else None,
                import_id=(adopt or {}).get(spec.name),
            )
            for index, spec in enumerate(config.secrets)
        }
        self.register_outputs(
            {
                "vaultId": self.vault_id,
                "vaultUri": self.vault_uri,
                "secretIds": {n: s.id for n, s in self.secrets.items()},
            }
        )

    def _own_vault(
        self,
        name: str,
        placement: Placement,
        config: StackConfig,
        vault_name: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        allowed_ips: pulumi.Input[Sequence[str]],
    ) -> keyvault.Vault:
        """The vault this stack creates, in Azure RBAC mode, with the configured protection and firewall."""
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
        return keyvault.Vault(
            f"{name}-vault",
            vault_name=vault_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            properties=vault_properties,
            opts=child,
        )


def read_existing_vault(existing: ExistingResource) -> keyvault.GetVaultResult:
    """The existing vault, read once before anything is declared; refused in one line if it is missing or
    in access-policy mode (the stack grants Key Vault Secrets User through Azure RBAC)."""
    where = f"vault {existing.name} in resource group {existing.resource_group}"
    try:
        found = keyvault.get_vault(resource_group_name=existing.resource_group, vault_name=existing.name)
    except Exception as err:
        raise ConfigError(
            f"config 'existingKeyVault': {where} cannot be read ({first_line(err)}). Fix: check the"
            " names, and that you may read it (Reader on the vault)"
        ) from None
    if not found.properties.enable_rbac_authorization:
        raise ConfigError(
            f"config 'existingKeyVault': {where} uses access policies; this stack grants Key Vault Secrets User"
            f" through Azure RBAC. Fix: az keyvault update -g {existing.resource_group} -n {existing.name}"
            " --enable-rbac-authorization true (once what its access policies allow is granted as roles)"
        )
    acls = found.properties.network_acls
    if acls is not None and acls.default_action == "Deny":
        # The stack leaves an existing vault's firewall alone; the Jobs' pods must get through it.
        pulumi.log.warn(
            f"vault {existing.name} denies by default: allow the cluster's outbound IPs in its firewall"
            " (docs/existing-resources.md), or the Jobs fail with ForbiddenByFirewall"
        )
    return found


class StoredSecret:
    """One secret of the vault: its value (configured or generated), expiry and rotation. Its resources are
    the store's children; with `old_prefix` they take over the ones a single-secret stack named from it."""

    def __init__(
        self,
        name: str,
        spec: SecretSpec,
        *,
        placement: Placement,
        vault_name: pulumi.Input[str],
        vault_group: pulumi.Input[str],
        parent: pulumi.Resource,
        old_prefix: str | None,
        import_id: str | None = None,
    ) -> None:
        self._spec = spec

        def opts(suffix: str, **extra: Any) -> pulumi.ResourceOptions:
            aliases = [pulumi.Alias(name=f"{old_prefix}-{suffix}")] if old_prefix else None
            return pulumi.ResourceOptions(parent=parent, aliases=aliases, **extra)

        self._opts = opts
        # With a rotation period, a pulumiverse-time Rotating resource marks the period: a refresh after its
        # end drops it from the state (terraform-provider-time resource_time_rotating.go, Read: "removing from
        # state") and the next up creates it anew, with a new id and time. It keeps its time in state
        # meanwhile, so evaluations inside the period are identical.
        self.rotation = (
            time.Rotating(f"{name}-rotation", rotation_days=spec.rotation_days, opts=opts("rotation"))
            if spec.rotation_days is not None
            else None
        )
        value = self._value(name)
        # Not secret: the salt travels in the Job beside the (secret) expected fingerprint.
        salt = random.RandomString(f"{name}-salt", length=SALT_LENGTH, special=False, opts=opts("salt"))
        self.fingerprint_salt = salt.result
        self.value_fingerprint = pulumi.Output.secret(
            pulumi.Output.all(value, salt.result).apply(lambda pair: fingerprint(pair[0], pair[1]))
        )
        attributes: keyvault.SecretAttributesArgsDict = {"enabled": True}
        if spec.expiry_days is not None:
            days = spec.expiry_days
            attributes["expires"] = self._set_time(name).apply(lambda at: expiry_epoch(at, days))
        properties: keyvault.SecretPropertiesArgsDict = {"value": value, "attributes": attributes}
        if spec.content_type is not None:
            properties["content_type"] = spec.content_type

        self.secret = keyvault.Secret(
            f"{name}-secret",
            secret_name=spec.name,
            vault_name=vault_name,
            resource_group_name=vault_group,
            tags=placement.tags,
            properties=properties,
            # ARM cannot delete a secret: azure-native deletes it through the vault's data plane,
            # which the deployer may not use (no data role; prod's firewall). So Pulumi never deletes
            # it: on destroy it goes with the vault, and a renamed secret's old one stays in the vault.
            # A name that comes back finds its old secret: adopted, then updated to this value (a new version).
            opts=opts("secret", additional_secret_outputs=["properties"], retain_on_delete=True, import_=import_id),
        )
        self.id = self.secret.id
        self.name = self.secret.name

    def _value(self, name: str) -> pulumi.Output[str]:
        """The configured value, or a generated one that is replaced with each rotation (its keeper)."""
        if self._spec.value is not None:
            return pulumi.Output.secret(self._spec.value)
        keepers = {"rotation": self.rotation.id} if self.rotation is not None else None
        generated = random.RandomPassword(
            f"{name}-value", length=32, special=False, keepers=keepers, opts=self._opts("value")
        )
        return pulumi.Output.secret(generated.result)

    def _set_time(self, name: str) -> pulumi.Output[str]:
        """When the value was last set (RFC 3339), which the expiry date counts from."""
        if self.rotation is not None and self._spec.value is None:
            return self.rotation.rfc3339
        # A configured value changes outside any schedule; a Static time is taken at each change (and
        # each rotation, which renews its expiry).
        triggers: dict[str, pulumi.Input[str]] = {"value": self.value_fingerprint}
        if self.rotation is not None:
            triggers["rotation"] = self.rotation.id
        return time.Static(f"{name}-set-at", triggers=triggers, opts=self._opts("set-at")).rfc3339


class ReferencedSecret:
    """A secret the existing vault already holds (`existing: true`): the stack grants reading it and proves the
    read, but never writes it, so it knows neither its value nor its fingerprint."""

    def __init__(self, name: str, spec: SecretSpec, secret_id: str, *, parent: pulumi.Resource) -> None:
        self.secret: keyvault.Secret | None = None
        self.id = pulumi.Output.from_input(secret_id)
        self.name = pulumi.Output.from_input(spec.name)
        self.value_fingerprint: pulumi.Output[str] | None = None
        # Salted all the same: the app logs a fingerprint of what it read.
        salt = random.RandomString(
            f"{name}-salt", length=SALT_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
        )
        self.fingerprint_salt = salt.result


def read_referenced_secrets(existing: ExistingResource, names: Sequence[str]) -> dict[str, str]:
    """name -> id of each `existing: true` secret, read once before anything is declared; refused in one line
    if the vault does not hold it."""
    found: dict[str, str] = {}
    for name in names:
        try:
            secret = keyvault.get_secret(
                resource_group_name=existing.resource_group, vault_name=existing.name, secret_name=name
            )
        except Exception as err:
            raise ConfigError(
                f"config 'secrets': '{name}' is existing, but vault {existing.name} cannot give it ({first_line(err)})."
                " Fix: check the name (a deleted secret must be recovered first), or remove existing to have the"
                " stack write it"
            ) from None
        attributes = secret.properties.attributes
        if attributes is not None and attributes.enabled is False:
            raise ConfigError(
                f"config 'secrets': '{name}' is existing, but disabled in vault {existing.name}: no one can read it."
                f" Fix: az keyvault secret set-attributes --vault-name {existing.name} --name {name} --enabled true"
            )
        found[name] = secret.id
    return found


def expiry_epoch(set_at_rfc3339: str, days: int) -> int:
    """Unix time `days` after the RFC 3339 time the value was set (Key Vault's `exp` attribute)."""
    at = datetime.fromisoformat(set_at_rfc3339.replace("Z", "+00:00"))
    return int(at.timestamp()) + days * 86400


def secrets_to_adopt(existing: ExistingResource, names: Sequence[str], tags: Mapping[str, str]) -> dict[str, str]:
    """name -> id of each declared secret the existing vault already holds with this stack's tags (an earlier
    `up` made it, and the vault kept it on delete or after a destroy): adopted, not created. A secret of that
    name that is not this stack's is refused in one line: writing it would overwrite someone else's value."""
    adopt: dict[str, str] = {}
    for name in names:
        try:
            found = keyvault.get_secret(
                resource_group_name=existing.resource_group, vault_name=existing.name, secret_name=name
            )
        except Exception:  # noqa: S112 - not there (the read of the vault itself succeeded): created
            continue
        if any((found.tags or {}).get(key) != value for key, value in tags.items()):
            raise ConfigError(
                f"config 'existingKeyVault': vault {existing.name} already holds a secret '{name}' that is not this"
                " stack's. Fix: to read that one, list it in secrets as {name, existing: true}; else give this"
                " stack's secret another name (secretName, or its entry's name in secrets)"
            )
        adopt[name] = found.id
    return adopt
