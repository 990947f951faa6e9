"""The vault's secrets and the workloads that read them, from config: `secrets` and `workloads`.

Each workload gets its own identity, federated to its own (namespace, ServiceAccount), and Key Vault
Secrets User on exactly its own secrets. Without `workloads`, the single-workload keys (namespace,
serviceAccountName, secretDelivery) describe one workload, `demo`, reading every secret; without
`secrets`, the single-secret keys (secretName, secretValue, secretContentType, secretExpiryDays,
secretRotationDays) describe one secret. A stack set up with those keys keeps its resources when it
moves to the lists: the first secret and the first workload take over the old ones (aliases).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi

Delivery = Literal["sdk", "csi", "both", "none"]
DELIVERIES: tuple[Delivery, ...] = ("sdk", "csi", "both", "none")
# Kubernetes' own, and those AKS add-ons own (managed namespaces cannot be created there: managed-namespaces.md).
SYSTEM_NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "app-routing-system",
    "istio-system",
    "gatekeeper-system",
)
# A workload's name goes into Azure and Kubernetes names (its identity, its Jobs): short enough for all.
MAX_WORKLOAD_NAME = 20
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
CONFIG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# What the single-workload keys default to in Pulumi.yaml (tests/stack/test_config.py checks they agree):
# with `workloads` or `secrets` set, a single-workload key set to anything else is refused, not ignored.
SINGLE_WORKLOAD_DEFAULTS: dict[str, Any] = {
    "namespace": "workload-identity-demo",
    "serviceAccountName": "keyvault-reader",
    "secretDelivery": "sdk",
}
SINGLE_SECRET_DEFAULTS: dict[str, Any] = {
    "secretName": "demo-secret",
    "secretContentType": "",
    "secretExpiryDays": 0,
    "secretRotationDays": 0,
}
SHORTHAND_WORKLOAD = "demo"
# The identity's Azure name ends in this for the shorthand's workload, as it did before the lists.
SHORTHAND_IDENTITY_SUFFIX = "workload"


class SettingError(Exception):
    """A bad entry: `key` names the setting (`workloads[1].namespace`), the message the problem and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix


@dataclass(frozen=True)
class SecretSpec:
    """One secret of the vault: its value is a secret config entry's (`value_key`) or generated; with
    `existing`, the (existing) vault already holds it and the stack only grants reading it."""

    name: str
    content_type: str | None
    expiry_days: int | None
    rotation_days: int | None
    value: pulumi.Output[str] | None
    value_key: str | None
    existing: bool = False


@dataclass(frozen=True)
class WorkloadSpec:
    """One app: its identity trusts exactly (namespace, service_account) and may read exactly `secrets`."""

    name: str
    namespace: str
    service_account: str
    secrets: tuple[str, ...]
    delivery: Delivery
    identity_suffix: str  # the end of its identity's Azure name

    @property
    def reads_with_sdk(self) -> bool:
        return self.delivery in ("sdk", "both")

    @property
    def reads_with_csi(self) -> bool:
        return self.delivery in ("csi", "both")


def dns_label(key: str, value: object, *, limit: int = 63) -> str:
    if value is None:
        raise SettingError(key, "is missing", f"set it to a DNS-1123 label of at most {limit} characters")
    if not isinstance(value, str) or len(value) > limit or not DNS1123_LABEL.match(value):
        raise SettingError(
            key,
            f"{value!r} is not a DNS-1123 label of at most {limit} characters",
            f"use at most {limit} lowercase letters, digits and '-', starting and ending with a letter or digit",
        )
    return value


def app_namespace(key: str, value: object) -> str:
    namespace = dns_label(key, value)
    if namespace in SYSTEM_NAMESPACES:
        raise SettingError(
            key,
            f"'{namespace}' is a system namespace (Kubernetes' or an AKS add-on's; the webhook skips kube-system)",
            "use a dedicated namespace such as workload-identity-demo",
        )
    return namespace


def secret_name(key: str, value: object) -> str:
    if not isinstance(value, str) or not SECRET_NAME.match(value):
        raise SettingError(key, f"{value!r} is not a Key Vault secret name", "use 1-127 letters, digits and '-'")
    return value


def optional_days(key: str, value: object, *, zero_means: str) -> int | None:
    """0 (or absent) stands for "not set"."""
    if value is None or value == 0:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3650:
        raise SettingError(key, f"is {value!r}, must be 1-3650 (or 0 for {zero_means})", f"set {key} to a whole number")
    return value


def check_rotation(key: str, expiry: int | None, rotation: int | None, configured: bool) -> None:
    """A rotation must come before the expiry; a configured value with no expiry has nothing to rotate."""
    if rotation is not None and expiry is not None and rotation >= expiry:
        shorter = expiry * 2 // 3
        raise SettingError(
            key,
            f"is {rotation}, not less than the expiry ({expiry} days): the secret would expire before it is rotated",
            f"rotate every {shorter} days (leave time to run an up between rotation and expiry)"
            if shorter >= 1
            else f"set the expiry to {rotation + 30} days",
        )
    if rotation is not None and configured and expiry is None:
        raise SettingError(
            key,
            "does nothing with a configured value and no expiry: the stack never changes your value, it only renews"
            " its expiry date",
            "set an expiry, or remove the rotation",
        )


def _entries(key: str, value: object, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise SettingError(key, "must be a list of objects", f"see Pulumi.yaml for the fields of {key}")
    for i, entry in enumerate(cast(list[dict[str, Any]], value)):
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise SettingError(f"{key}[{i}].{unknown[0]}", "is not a field", f"use only {', '.join(fields)}")
    return cast(list[dict[str, Any]], value)


def secrets_from_list(value: object, read_secret: Callable[[str], pulumi.Output[str] | None]) -> list[SecretSpec]:
    fields = ("name", "contentType", "expiryDays", "rotationDays", "valueFrom", "existing")
    specs: list[SecretSpec] = []
    for i, entry in enumerate(_entries("secrets", value, fields)):
        at = f"secrets[{i}]"
        name = secret_name(f"{at}.name", entry.get("name"))
        if name in (s.name for s in specs):
            raise SettingError(f"{at}.name", f"'{name}' is listed twice", "give each secret its own name")
        existing = entry.get("existing", False)
        if not isinstance(existing, bool):
            raise SettingError(
                f"{at}.existing",
                f"{existing!r} is not a boolean",
                f"pulumi config set --path '{at}.existing' true (unquoted, so it is stored as a boolean)",
            )
        if existing:
            written = sorted(set(entry) - {"name", "existing"})
            if written:
                raise SettingError(
                    f"{at}.{written[0]}",
                    "describes a value the stack writes, and the stack does not write an existing secret",
                    f"remove {written[0]} from secrets[{i}], or existing to have the stack write the secret",
                )
            specs.append(SecretSpec(name, None, None, None, None, None, existing=True))
            continue
        value_key = entry.get("valueFrom")
        configured = None
        if value_key is not None:
            if not isinstance(value_key, str) or not CONFIG_KEY.match(value_key):
                raise SettingError(f"{at}.valueFrom", f"{value_key!r} is not a config key", "name a secret config key")
            configured = read_secret(value_key)
            if configured is None:
                raise SettingError(
                    f"{at}.valueFrom",
                    f"names '{value_key}', which this stack does not set",
                    f"pulumi config set --secret {value_key} <value>",
                )
        content_type = entry.get("contentType") or None
        if content_type is not None and not isinstance(content_type, str):
            raise SettingError(f"{at}.contentType", f"{content_type!r} is not text", "give a type such as text/plain")
        expiry = optional_days(f"{at}.expiryDays", entry.get("expiryDays"), zero_means="no expiry date")
        rotation = optional_days(f"{at}.rotationDays", entry.get("rotationDays"), zero_means="no rotation")
        check_rotation(f"{at}.rotationDays", expiry, rotation, configured is not None)
        specs.append(SecretSpec(name, content_type, expiry, rotation, configured, value_key))
    if not specs:
        raise SettingError("secrets", "is empty", "list at least one secret, or remove the key")
    return specs


def workloads_from_list(value: object, secrets: list[SecretSpec]) -> list[WorkloadSpec]:
    fields = ("name", "namespace", "serviceAccount", "secrets", "delivery")
    known = [s.name for s in secrets]
    specs: list[WorkloadSpec] = []
    for i, entry in enumerate(_entries("workloads", value, fields)):
        at = f"workloads[{i}]"
        name = dns_label(f"{at}.name", entry.get("name"), limit=MAX_WORKLOAD_NAME)
        if name in (w.name for w in specs):
            raise SettingError(f"{at}.name", f"'{name}' is listed twice", "give each workload its own name")
        namespace = app_namespace(f"{at}.namespace", entry.get("namespace"))
        service_account = dns_label(f"{at}.serviceAccount", entry.get("serviceAccount"))
        twin = next((w for w in specs if (w.namespace, w.service_account) == (namespace, service_account)), None)
        if twin is not None:
            raise SettingError(
                f"{at}.serviceAccount",
                f"{namespace}/{service_account} is already workload '{twin.name}''s: one ServiceAccount would"
                " federate two identities",
                "give each workload its own ServiceAccount",
            )
        read = entry.get("secrets")
        if not isinstance(read, list) or not read or not all(isinstance(s, str) for s in read):
            raise SettingError(f"{at}.secrets", "must be a non-empty list of secret names", f"choose from {known}")
        for secret in read:
            if secret not in known:
                raise SettingError(
                    f"{at}.secrets",
                    f"'{secret}' is not in 'secrets'",
                    f"choose from {known}, or add it to 'secrets' (with existing: true if your vault holds it)",
                )
        delivery = entry.get("delivery", "sdk")
        if delivery not in DELIVERIES:
            raise SettingError(f"{at}.delivery", f"{delivery!r} is not one of {', '.join(DELIVERIES)}", "use sdk")
        specs.append(
            WorkloadSpec(name, namespace, service_account, tuple(dict.fromkeys(read)), cast(Delivery, delivery), name)
        )
    if not specs:
        raise SettingError("workloads", "is empty", "list at least one workload, or remove the key")
    return specs


def refuse_single_keys(list_key: str, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """With the list set, a single-workload (or single-secret) key away from its default is refused."""
    for key, default in defaults.items():
        if values[key] != default:
            raise SettingError(
                key,
                f"applies only without '{list_key}', which this stack sets",
                f"move it into the entries of '{list_key}' and run: pulumi config rm {key}",
            )


def denied_secret(workload: WorkloadSpec, secrets: tuple[SecretSpec, ...]) -> str | None:
    """The secret the workload's isolation check must be refused: the vault's first it was not granted. None
    when it holds every secret, or runs no Jobs (delivery none)."""
    if workload.delivery == "none":
        return None
    return next((s.name for s in secrets if s.name not in workload.secrets), None)


def isolation_summary(workload: WorkloadSpec, secrets: tuple[SecretSpec, ...]) -> str:
    """What the workload's isolation check proves, for the outputs."""
    denied = denied_secret(workload, secrets)
    if denied is not None:
        return f"refused {denied} (403 ForbiddenByRbac), checked at up"
    if workload.delivery == "none":
        return "not checked: delivery none runs no Jobs"
    return "not checked: it holds every secret this stack lists"
