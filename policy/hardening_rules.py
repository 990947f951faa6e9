"""Resource rules: hardening each resource of the pattern on its own (advisory by default).

Each rule takes a resource's type and inputs (wire names) and a report(message) callback, and
judges only what is known in this preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from props import known, path, value, value_or
from wiring_rules import CLUSTER, POD_TEMPLATE_PATHS, REGISTRY

VAULT = "azure-native:keyvault:Vault"
Say = Callable[[str], None]
ABSENT: Any = object()  # a setting left out (its Kubernetes default applies), unlike None: unknown


def aks_identity_features(resource_type: str, props: Mapping[str, Any], say: Say) -> None:
    """AKS with the OIDC issuer, workload identity, Azure RBAC, and local accounts off."""
    if resource_type != CLUSTER:
        return
    wanted = {
        ("oidcIssuerProfile", "enabled"): "the OIDC issuer (no issuer: nothing to federate, AADSTS700211)",
        ("securityProfile", "workloadIdentity", "enabled"): "workload identity (no webhook: pods get no token)",
        ("aadProfile", "enableAzureRBAC"): "Azure RBAC for Kubernetes authorization",
    }
    for keys, what in wanted.items():
        if value_or(props, False, *keys) is False:
            say(f"the cluster does not enable {what}. Fix: {'.'.join(keys)}=true.")
    if value_or(props, False, "disableLocalAccounts") is False:
        say(
            "local accounts are on: a static cluster-admin credential outside Entra ID. Fix: disableLocalAccounts=true."
        )


def registry_access(resource_type: str, props: Mapping[str, Any], say: Say) -> None:
    """Container registry with the admin user and anonymous pull off."""
    if resource_type != REGISTRY:
        return
    if value(props, "adminUserEnabled") is True:
        say("the registry's admin user is on: a shared password that never expires. Fix: adminUserEnabled=false.")
    if value(props, "anonymousPullEnabled") is True:
        say("anonymous pull is on: anyone can pull the images. Fix: anonymousPullEnabled=false.")


def key_vault_mode(resource_type: str, props: Mapping[str, Any], say: Say) -> None:
    """Key Vault in Azure RBAC mode, with soft delete."""
    if resource_type != VAULT:
        return
    if value_or(props, False, "properties", "enableRbacAuthorization") is False:
        say(
            "the vault uses access policies, not Azure RBAC: role assignments do not apply and reads get 403 "
            "AccessDenied. Fix: properties.enableRbacAuthorization=true."
        )
    if value(props, "properties", "enableSoftDelete") is False:
        say("soft delete is off: a deleted secret is gone at once. Fix: properties.enableSoftDelete=true.")


def pod_security(resource_type: str, props: Mapping[str, Any], say: Say) -> None:
    """Pods non-root, read-only root filesystem, no privilege escalation, capabilities dropped, no API token."""
    where = POD_TEMPLATE_PATHS.get(resource_type)
    if where is None:
        return
    pod = value_or(props, {}, *where, "spec")
    if not pod:
        return
    if value_or(pod, True, "automountServiceAccountToken") is True:
        say("the pod mounts a Kubernetes API token it does not need. Fix: automountServiceAccountToken=false.")
    pod_context = value_or(pod, {}, "securityContext")
    for field in ("initContainers", "containers"):
        for index in range(len(value_or(pod, [], field) or [])):
            container = value(pod, field, index)
            if container is not None:  # an unknown container is not judged
                _container_security(container, pod_context, say)


def _container_security(container: Mapping[str, Any], pod_context: Mapping[str, Any] | None, say: Say) -> None:
    name = value(container, "name") or "?"
    context = value_or(container, {}, "securityContext") or {}
    if _may_run_as_root(context, pod_context or {}):
        say(f"container {name} may run as root. Fix: securityContext.runAsNonRoot=true.")
    if value_or(context, False, "readOnlyRootFilesystem") is False:
        say(f"container {name} can write its root filesystem. Fix: securityContext.readOnlyRootFilesystem=true.")
    if value_or(context, True, "allowPrivilegeEscalation") is True:
        say(f"container {name} allows privilege escalation. Fix: securityContext.allowPrivilegeEscalation=false.")
    drop = known(lambda: list(path(context, "capabilities", "drop")))
    if value_or(context, [], "capabilities", "drop") == [] or (drop is not None and "ALL" not in drop):
        say(f"container {name} keeps Linux capabilities. Fix: securityContext.capabilities.drop=['ALL'].")


def _may_run_as_root(context: Mapping[str, Any], pod_context: Mapping[str, Any]) -> bool:
    """True only when known: runAsNonRoot is not true and no non-zero runAsUser is set (container over pod)."""

    def setting(key: str) -> Any:
        own = value_or(context, ABSENT, key)
        return value_or(pod_context, ABSENT, key) if own is ABSENT else own

    non_root = setting("runAsNonRoot")
    if non_root is None or non_root is True:
        return False  # unknown (not judged), or non-root
    user = setting("runAsUser")
    return user is not None and (user is ABSENT or user == 0)


RESOURCE_RULES = (aks_identity_features, registry_access, key_vault_mode, pod_security)
