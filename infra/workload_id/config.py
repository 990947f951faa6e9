"""Stack configuration: read once, validated, typed.

Every key is declared in Pulumi.yaml with its type, default and description, and the CLI
hands the program each one (the stack's value, else the declared default). All validation
runs before any resource is declared, and every message names the key and says how to fix it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi

from .workloads_config import (
    SHORTHAND_IDENTITY_SUFFIX,
    SHORTHAND_WORKLOAD,
    SINGLE_SECRET_DEFAULTS,
    SINGLE_WORKLOAD_DEFAULTS,
    SYSTEM_NAMESPACES,
    SecretSpec,
    SettingError,
    WorkloadSpec,
    refuse_single_keys,
    secrets_from_list,
    workloads_from_list,
)

ImageBuilder = Literal["acr", "docker"]
KubeloginMode = Literal["azurecli", "workloadidentity", "spn", "msi", "azd"]
AksTier = Literal["Free", "Standard", "Premium"]
AcrSku = Literal["Basic", "Standard", "Premium"]
OsDiskType = Literal["Managed", "Ephemeral"]
NetworkDefaultAction = Literal["Allow", "Deny"]
SecretDelivery = Literal["sdk", "csi", "both"]  # the single-workload key's; a listed workload may say none

IMAGE_BUILDERS: tuple[ImageBuilder, ...] = ("acr", "docker")
KUBELOGIN_MODES: tuple[KubeloginMode, ...] = ("azurecli", "workloadidentity", "spn", "msi", "azd")
AKS_TIERS: tuple[AksTier, ...] = ("Free", "Standard", "Premium")
ACR_SKUS: tuple[AcrSku, ...] = ("Basic", "Standard", "Premium")
OS_DISK_TYPES: tuple[OsDiskType, ...] = ("Managed", "Ephemeral")
NETWORK_DEFAULT_ACTIONS: tuple[NetworkDefaultAction, ...] = ("Allow", "Deny")
SECRET_DELIVERIES: tuple[SecretDelivery, ...] = ("sdk", "csi", "both")
# The add-on's rotation poll, as it takes it (a Go duration, one unit): each poll reads every mounted
# object from Key Vault, so not more often than every 30 s; at most daily.
_POLL_INTERVAL = re.compile(r"^([1-9][0-9]*)(s|m|h)$")
_POLL_SECONDS = {"s": 1, "m": 60, "h": 3600}

# Longest prefix that keeps every derived Azure name within its limit (Key Vault: 24).
MAX_NAME_PREFIX_LENGTH = 8

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9]*$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]*$")
_K8S_VERSION = re.compile(r"^[0-9]+\.[0-9]+$")
_VM_SIZE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ExistingResource:
    """An Azure resource the stack uses but does not own: where it is."""

    resource_group: str
    name: str


class ConfigError(pulumi.RunError):
    """A configuration value is invalid; the message names the key and the fix.

    A RunError: the Python language host prints its message as one line, without the
    traceback it prints for any other exception (pulumi-language-python-exec)."""


@dataclass(frozen=True)
class StackConfig:
    """Typed, validated view of the stack's configuration."""

    location: str
    name_prefix: str
    kubernetes_version: str | None
    node_vm_size: str
    node_count: int
    node_os_disk_type: OsDiskType
    node_os_disk_size_gb: int | None
    availability_zones: tuple[str, ...]
    aks_tier: AksTier
    authorized_ip_ranges: tuple[str, ...]
    disable_local_accounts: bool
    kubelogin_mode: KubeloginMode
    deployer_object_ids: tuple[str, ...]
    monitoring: bool
    acr_sku: AcrSku
    key_vault_purge_protection: bool
    key_vault_soft_delete_days: int
    key_vault_network_default_action: NetworkDefaultAction
    key_vault_allowed_ip_ranges: tuple[str, ...]
    existing_cluster: ExistingResource | None
    grant_kubelet_acr_pull: bool
    existing_key_vault: ExistingResource | None
    existing_registry: ExistingResource | None
    secrets: tuple[SecretSpec, ...]
    workloads: tuple[WorkloadSpec, ...]
    csi_rotation_poll_interval: str
    image_builder: ImageBuilder
    app_retry_budget_seconds: int

    @property
    def reads_with_csi(self) -> bool:
        """Whether any workload mounts secrets through the CSI driver (the add-on is on)."""
        return any(w.reads_with_csi for w in self.workloads)

    @property
    def written_secret_names(self) -> list[str]:
        """The secrets the stack writes (the others, existing: true, it only grants reading)."""
        return [s.name for s in self.secrets if not s.existing]

    @property
    def existing_secret_names(self) -> list[str]:
        """The secrets an existing vault already holds, which the stack only grants reading."""
        return [s.name for s in self.secrets if s.existing]

    @property
    def closes_vault_firewall(self) -> bool:
        """Whether the stack's vault denies by default (then the cluster's egress IPs are let in)."""
        return self.key_vault_network_default_action == "Deny"

    def secret(self, name: str) -> SecretSpec:
        return next(s for s in self.secrets if s.name == name)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Each namespace a workload runs in, once, in the order the workloads list them."""
        return tuple(dict.fromkeys(w.namespace for w in self.workloads))


def first_line(err: BaseException) -> str:
    """The provider's own first line of an invoke's error (the SDK wraps it in 'invoke of <token> failed:
    invocation of <token> returned an error: ' and the whole response follows)."""
    line = (str(err).strip().splitlines() or [type(err).__name__])[0].rsplit("returned an error: ", 1)[-1]
    # ARM's "(Code) Message" reads "Code: Message" inside the refusal's own parentheses.
    code, closing, message = line.removeprefix("(").partition(") ")
    return f"{code}: {message}" if line.startswith("(") and closing else line


def _fail(key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"config '{key}': {problem}. Fix: {fix}")


class _Reader:
    """Reads raw values and reports errors by key."""

    def __init__(self, config: pulumi.Config) -> None:
        self._config = config

    def _raw(self, key: str, parse: Callable[[str], Any]) -> Any:
        try:
            value = parse(key)
        except pulumi.ConfigTypeError as err:
            raise _fail(key, f"is not of the declared type ({err})", "see Pulumi.yaml for its type") from None
        if value is None:
            raise _fail(
                key, "has no value", "declare it in Pulumi.yaml with a default, and run the program with the Pulumi CLI"
            )
        return value

    def secret(self, key: str) -> pulumi.Output[str] | None:
        """An undeclared secret key: None when unset (see Pulumi.yaml)."""
        return self._config.get_secret(key)

    def text(self, key: str) -> str:
        return str(self._raw(key, self._config.get)).strip()

    def typed(self, key: str, like: Any) -> Any:
        """The value read as the program reads a key of `like`'s type (True and 01 as true and 1)."""
        if isinstance(like, bool):
            return self.flag(key)
        if isinstance(like, int):
            return self.integer(key)
        if isinstance(like, list):
            return list(self.texts(key))
        return self.text(key)

    def raw(self, key: str) -> Any:
        """The value as the stack gives it (numbers parsed), for comparing with a default."""
        text = self._raw(key, self._config.get)
        try:
            return json.loads(text)
        except ValueError:
            return text

    def object(self, key: str) -> Any:
        return self._raw(key, self._config.get_object)

    def integer(self, key: str) -> int:
        return int(self._raw(key, self._config.get_int))

    def flag(self, key: str) -> bool:
        return bool(self._raw(key, self._config.get_bool))

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._raw(key, self._config.get_object)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(key, "must be a list of strings", f"pulumi config set --path '{key}[0]' VALUE")
        return tuple(v.strip() for v in cast(list[str], value))

    def in_range(self, key: str, low: int, high: int, *, fix: str) -> int:
        value = self.integer(key)
        if not low <= value <= high:
            raise _fail(key, f"is {value}, must be {low}-{high}", fix)
        return value

    def optional_in_range(self, key: str, low: int, high: int, *, zero_means: str, fix: str) -> int | None:
        """Like in_range, but 0 stands for "not set" and gives None."""
        value = self.integer(key)
        if value == 0:
            return None
        if not low <= value <= high:
            raise _fail(key, f"is {value}, must be {low}-{high} (or 0 for {zero_means})", fix)
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in choices:
            raise _fail(key, f"is '{value}', not one of {', '.join(choices)}", f"pulumi config set {key} {choices[0]}")
        return value


# RFC 5737 / RFC 3849 documentation ranges: placeholders, never anyone's real address.
_DOCUMENTATION_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _cidr(key: str, value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise _fail(
            key, f"'{value}' is not a valid CIDR range", "give ranges like 52.140.10.0/24 or 20.43.7.9/32"
        ) from None
    # Both ends inside a placeholder range (an address of the other IP version is never inside).
    if any(network.network_address in doc and network.broadcast_address in doc for doc in _DOCUMENTATION_RANGES):
        raise _fail(
            key,
            f"'{value}' is a documentation placeholder, not a real address range",
            f"set your own egress range(s): pulumi config set --path '{key}[0]' <your public IP>/32",
        )
    return str(network)


def _dns_label(key: str, value: str) -> str:
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise _fail(
            key,
            f"'{value}' is not a valid DNS-1123 label",
            "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        )
    return value


def _poll_interval(value: str) -> str:
    match = _POLL_INTERVAL.match(value)
    seconds = int(match.group(1)) * _POLL_SECONDS[match.group(2)] if match else 0
    if not 30 <= seconds <= 86400:
        raise _fail(
            "csiRotationPollInterval",
            f"'{value}' is not a duration from 30s to 24h in one unit (like 2m, 90s or 1h)",
            "pulumi config set csiRotationPollInterval 2m",
        )
    return value


def _placement(read: _Reader) -> dict[str, Any]:
    """location and namePrefix."""
    location = read.text("location").lower()
    if not _LOCATION.match(location):
        raise _fail("location", f"'{location}' is not an Azure region name", "use a name like japaneast or westeurope")

    name_prefix = read.text("namePrefix")
    if not (_NAME_PREFIX.match(name_prefix) and 2 <= len(name_prefix) <= MAX_NAME_PREFIX_LENGTH):
        raise _fail(
            "namePrefix",
            f"'{name_prefix}' must be 2-{MAX_NAME_PREFIX_LENGTH} lowercase letters or digits, starting with a letter",
            "pulumi config set namePrefix wid (it keeps Key Vault and registry names within their limits)",
        )
    return {"location": location, "name_prefix": name_prefix}


def _cluster(read: _Reader) -> dict[str, Any]:
    """The cluster, its nodes and who reaches its API."""
    kubernetes_version = read.text("kubernetesVersion") or None
    if kubernetes_version is not None and not _K8S_VERSION.match(kubernetes_version):
        raise _fail(
            "kubernetesVersion",
            f"'{kubernetes_version}' is not a minor version like 1.34 (patches come from the 'patch' upgrade channel;"
            " a pinned patch would become a downgrade after the first auto-upgrade)",
            "set a supported minor version (az aks get-versions -l <location>) or remove the key for AKS's default",
        )

    node_vm_size = read.text("nodeVmSize")
    if not _VM_SIZE.match(node_vm_size):
        raise _fail("nodeVmSize", "must be a VM size name", "pulumi config set nodeVmSize Standard_D2s_v5")

    node_count = read.in_range("nodeCount", 1, 100, fix="pulumi config set nodeCount 1")

    node_os_disk_type = cast(OsDiskType, read.choice("nodeOsDiskType", OS_DISK_TYPES))
    node_os_disk_size_gb = read.optional_in_range(
        "nodeOsDiskSizeGb", 30, 2048, zero_means="the default", fix="pulumi config set nodeOsDiskSizeGb 0"
    )
    if node_os_disk_type == "Ephemeral" and node_os_disk_size_gb is None:
        raise _fail(
            "nodeOsDiskSizeGb",
            "must be set when nodeOsDiskType is Ephemeral (the OS disk must fit the VM's cache or temp disk)",
            "set it to at most the VM size's cache/temp disk size, e.g. 64 for Standard_D4ds_v5",
        )

    availability_zones = read.texts("availabilityZones")
    for zone in availability_zones:
        if zone not in ("1", "2", "3"):
            raise _fail("availabilityZones", f"'{zone}' is not a zone", 'use a subset of ["1", "2", "3"]')

    aks_tier = cast(AksTier, read.choice("aksTier", AKS_TIERS))
    authorized_ip_ranges = tuple(_cidr("authorizedIpRanges", r) for r in read.texts("authorizedIpRanges"))
    disable_local_accounts = read.flag("disableLocalAccounts")
    kubelogin_mode = cast(KubeloginMode, read.choice("kubeloginMode", KUBELOGIN_MODES))
    deployer_object_ids = read.texts("deployerObjectIds")
    for object_id in deployer_object_ids:
        if not _GUID.match(object_id):
            raise _fail(
                "deployerObjectIds",
                f"'{object_id}' is not an object id (a GUID)",
                "list the object ids of the people and CI identities that deploy: az ad signed-in-user show --query id",
            )
    if len(set(deployer_object_ids)) != len(deployer_object_ids):
        raise _fail("deployerObjectIds", "lists an object id twice", "list each deployer once")
    monitoring = read.flag("monitoring")
    acr_sku = cast(AcrSku, read.choice("acrSku", ACR_SKUS))
    existing = _existing(read, "existingCluster", "cluster")
    return {
        "kubernetes_version": kubernetes_version,
        "node_vm_size": node_vm_size,
        "node_count": node_count,
        "node_os_disk_type": node_os_disk_type,
        "node_os_disk_size_gb": node_os_disk_size_gb,
        "availability_zones": availability_zones,
        "aks_tier": aks_tier,
        "authorized_ip_ranges": authorized_ip_ranges,
        "disable_local_accounts": disable_local_accounts,
        "kubelogin_mode": kubelogin_mode,
        "deployer_object_ids": deployer_object_ids,
        "monitoring": monitoring,
        "acr_sku": acr_sku,
        "existing_cluster": existing,
    }


CLUSTER_DEFAULTS: dict[str, Any] = {
    "kubernetesVersion": "",
    "nodeVmSize": "Standard_D2s_v5",
    "nodeCount": 1,
    "nodeOsDiskType": "Managed",
    "nodeOsDiskSizeGb": 0,
    "availabilityZones": [],
    "aksTier": "Free",
    "authorizedIpRanges": [],
    "disableLocalAccounts": True,
    "monitoring": False,
    "csiRotationPollInterval": "2m",
}


def _vault(read: _Reader) -> dict[str, Any]:
    """The Key Vault's protection and firewall."""
    key_vault_purge_protection = read.flag("keyVaultPurgeProtection")
    key_vault_soft_delete_days = read.in_range(
        "keyVaultSoftDeleteDays", 7, 90, fix="pulumi config set keyVaultSoftDeleteDays 7 (Azure accepts 7-90)"
    )
    key_vault_network_default_action = cast(
        NetworkDefaultAction, read.choice("keyVaultNetworkDefaultAction", NETWORK_DEFAULT_ACTIONS)
    )
    key_vault_allowed_ip_ranges = tuple(
        _cidr("keyVaultAllowedIpRanges", r) for r in read.texts("keyVaultAllowedIpRanges")
    )
    existing = _existing(read, "existingKeyVault", "vault")
    return {
        "key_vault_purge_protection": key_vault_purge_protection,
        "key_vault_soft_delete_days": key_vault_soft_delete_days,
        "key_vault_network_default_action": key_vault_network_default_action,
        "key_vault_allowed_ip_ranges": key_vault_allowed_ip_ranges,
        "existing_key_vault": existing,
    }


VAULT_DEFAULTS: dict[str, Any] = {
    "keyVaultPurgeProtection": False,
    "keyVaultSoftDeleteDays": 7,
    "keyVaultNetworkDefaultAction": "Allow",
    # An existing vault's firewall stays as its owner set it.
    "keyVaultAllowedIpRanges": [],
}
REGISTRY_DEFAULTS: dict[str, Any] = {"acrSku": "Basic"}
# What only a resource the stack creates can have, by the key that names an existing one instead: set to anything
# but its default beside that key, a setting is refused (an existing resource keeps its owner's settings).
OWNED_ONLY: dict[str, tuple[str, dict[str, Any]]] = {
    "existingCluster": ("cluster", CLUSTER_DEFAULTS),
    "existingKeyVault": ("vault", VAULT_DEFAULTS),
    "existingRegistry": ("registry", REGISTRY_DEFAULTS),
}


def _refuse_settings_of_existing(read: _Reader) -> None:
    """Every setting of a resource the stack does not create, in one line with one command that removes them
    all (before any is validated: a prod placeholder would otherwise be refused first, then removed)."""
    refused: dict[str, str] = {}  # setting -> the existing-resource key it conflicts with
    for existing_key, (_, defaults) in OWNED_ONLY.items():
        if read.object(existing_key) != {}:
            refused |= {key: existing_key for key, default in defaults.items() if read.typed(key, default) != default}
    if not refused:
        return
    keys, owners = list(refused), list(dict.fromkeys(refused.values()))
    if len(keys) == 1:
        what = OWNED_ONLY[owners[0]][0]
        raise _fail(
            keys[0], f"applies only to a {what} this stack creates, not to {owners[0]}", f"pulumi config rm {keys[0]}"
        )
    raise ConfigError(
        f"config {', '.join(repr(k) for k in keys)}: apply only to what this stack creates, not to {', '.join(owners)}."
        f" Fix: pulumi config rm-all {' '.join(keys)}"
    )


def _existing(read: _Reader, key: str, what: str) -> ExistingResource | None:
    """{resourceGroup, name} of an existing resource, or None when the key is left empty."""
    value = read.object(key)
    if value == {}:
        return None
    fix = f"pulumi config set --path '{key}.resourceGroup' <group>; pulumi config set --path '{key}.name' <{what}>"
    if not isinstance(value, dict) or set(value) != {"resourceGroup", "name"}:
        raise _fail(key, f"must be {{resourceGroup, name}} of the {what}, got {json.dumps(value)}", fix)
    # `pulumi config set --path` stores an all-digit value as a number.
    texts = {k: str(v).strip() for k, v in value.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}
    if len(texts) != 2 or not all(texts.values()):
        raise _fail(key, "resourceGroup and name must be non-empty strings", fix)
    return ExistingResource(resource_group=texts["resourceGroup"], name=texts["name"])


def _single_secret(read: _Reader) -> SecretSpec:
    """The one secret the single-secret keys describe."""
    secret_name = read.text("secretName")
    if not _SECRET_NAME.match(secret_name):
        raise _fail(
            "secretName", f"'{secret_name}' is not a Key Vault secret name", "use 1-127 letters, digits and '-'"
        )
    secret_value = read.secret("secretValue")
    secret_content_type = read.text("secretContentType") or None
    secret_expiry_days = read.optional_in_range(
        "secretExpiryDays", 1, 3650, zero_means="no expiry date", fix="pulumi config set secretExpiryDays 90"
    )

    secret_rotation_days = read.optional_in_range(
        "secretRotationDays", 1, 3650, zero_means="no rotation", fix="pulumi config set secretRotationDays 60"
    )
    if (
        secret_rotation_days is not None
        and secret_expiry_days is not None
        and secret_rotation_days >= secret_expiry_days
    ):
        shorter = secret_expiry_days * 2 // 3
        raise _fail(
            "secretRotationDays",
            f"is {secret_rotation_days}, not less than secretExpiryDays ({secret_expiry_days}): the secret would expire"
            " before it is rotated",
            f"pulumi config set secretRotationDays {shorter} (leave time to run an up between rotation and expiry)"
            if shorter >= 1
            else f"pulumi config set secretExpiryDays {secret_rotation_days + 30}",
        )
    if secret_rotation_days is not None and secret_value is not None and secret_expiry_days is None:
        raise _fail(
            "secretRotationDays",
            "does nothing with a configured secretValue and no secretExpiryDays: the stack never changes your value,"
            " it only renews its expiry date",
            "pulumi config set secretExpiryDays 90, or pulumi config rm secretRotationDays",
        )
    value_key = "secretValue" if secret_value is not None else None
    return SecretSpec(
        secret_name, secret_content_type, secret_expiry_days, secret_rotation_days, secret_value, value_key
    )


def _single_workload(read: _Reader, secrets: tuple[SecretSpec, ...]) -> WorkloadSpec:
    """The one workload the single-workload keys describe: it reads every secret."""
    namespace = _dns_label("namespace", read.text("namespace"))
    if namespace in SYSTEM_NAMESPACES:
        raise _fail(
            "namespace",
            f"'{namespace}' is a system namespace (Kubernetes' or an AKS add-on's; the webhook skips kube-system)",
            "use a dedicated namespace such as workload-identity-demo",
        )
    service_account_name = _dns_label("serviceAccountName", read.text("serviceAccountName"))
    delivery = cast(SecretDelivery, read.choice("secretDelivery", SECRET_DELIVERIES))
    return WorkloadSpec(
        SHORTHAND_WORKLOAD,
        namespace,
        service_account_name,
        tuple(s.name for s in secrets),
        delivery,
        SHORTHAND_IDENTITY_SUFFIX,
    )


def _listed(read: _Reader, key: str) -> list[Any]:
    value = read.object(key)
    if not isinstance(value, list):
        raise _fail(key, "must be a list", f"see Pulumi.yaml for the fields of {key}")
    return value


def _workloads(read: _Reader) -> dict[str, Any]:
    """The vault's secrets, the workloads that read them, and how."""
    listed_secrets, listed_workloads = _listed(read, "secrets"), _listed(read, "workloads")
    try:
        if listed_secrets:
            refuse_single_keys("secrets", {k: read.raw(k) for k in SINGLE_SECRET_DEFAULTS}, SINGLE_SECRET_DEFAULTS)
            if read.secret("secretValue") is not None:
                raise SettingError(
                    "secretValue",
                    "applies only without 'secrets', which this stack sets",
                    "name a secret config key in the secret's valueFrom",
                )
            secrets = tuple(secrets_from_list(listed_secrets, read.secret))
        else:
            secrets = (_single_secret(read),)
        if listed_workloads:
            refuse_single_keys(
                "workloads", {k: read.raw(k) for k in SINGLE_WORKLOAD_DEFAULTS}, SINGLE_WORKLOAD_DEFAULTS
            )
            workloads = tuple(workloads_from_list(listed_workloads, list(secrets)))
        else:
            workloads = (_single_workload(read, secrets),)
    except SettingError as err:
        raise _fail(err.key, err.problem, err.fix) from None
    referenced = next((i for i, s in enumerate(secrets) if s.existing), None)
    if referenced is not None and read.object("existingKeyVault") == {}:
        raise _fail(
            f"secrets[{referenced}].existing",
            "applies only with existingKeyVault (a vault this stack creates holds only the secrets it writes)",
            "set existingKeyVault to the vault that holds the secret, or remove existing",
        )
    csi_rotation_poll_interval = _poll_interval(read.text("csiRotationPollInterval"))
    image_builder = cast(ImageBuilder, read.choice("imageBuilder", IMAGE_BUILDERS))

    app_retry_budget_seconds = read.in_range(
        "appRetryBudgetSeconds",
        30,
        1800,
        fix="pulumi config set appRetryBudgetSeconds 600 (Key Vault role assignments can take up to 10 minutes)",
    )
    return {
        "secrets": secrets,
        "workloads": workloads,
        "csi_rotation_poll_interval": csi_rotation_poll_interval,
        "image_builder": image_builder,
        "app_retry_budget_seconds": app_retry_budget_seconds,
    }


def _registry(read: _Reader, existing_cluster: ExistingResource | None) -> dict[str, Any]:
    """The registry, and whether its kubelet's AcrPull is the stack's to grant."""
    existing = _existing(read, "existingRegistry", "registry")
    grant_kubelet_acr_pull = read.flag("grantKubeletAcrPull")
    # Only a kubelet and a registry that both predate the stack can already hold the grant.
    if not grant_kubelet_acr_pull and (existing is None or existing_cluster is None):
        raise _fail(
            "grantKubeletAcrPull",
            "is false, but the stack creates the cluster or the registry, so nothing else grants the kubelet AcrPull",
            "pulumi config rm grantKubeletAcrPull (false is for existingCluster and existingRegistry together,"
            " when the kubelet already pulls from that registry)",
        )
    return {"existing_registry": existing, "grant_kubelet_acr_pull": grant_kubelet_acr_pull}


def load_config(config: pulumi.Config | None = None) -> StackConfig:
    """Read and validate the stack configuration; raise ConfigError on the first bad key."""
    read = _Reader(config if config is not None else pulumi.Config())
    _refuse_settings_of_existing(read)
    cluster = _cluster(read)
    registry = _registry(read, cluster["existing_cluster"])
    return StackConfig(**_placement(read), **cluster, **_vault(read), **registry, **_workloads(read))
