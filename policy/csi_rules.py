"""Stack rule for the Secrets Store CSI driver in workload-identity mode: each SecretProviderClass signs in as a
federated identity the pods that mount it run as, and reads a vault and secret the stack declares.

The Azure provider exchanges the mounting pod's ServiceAccount token for the class's `clientID`
(secrets-store-csi-driver-provider-azure pkg/provider/provider.go); a mismatch fails the mount and the pod never
starts (kubelet events: FailedMount).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from pulumi_policy import PolicyResource

from props import of_type, value, value_or
from wiring_rules import (
    CLIENT_ID_ANNOTATION,
    CSI_SECRETS_DRIVER,
    IDENTITY,
    KEY_VAULT_DATA_ROLES,
    POD_TEMPLATE_PATHS,
    ROLE_ASSIGNMENT,
    SERVICE_ACCOUNT,
    Report,
    federated_service_accounts_by_client_id,
    role_guid,
)

SECRET_PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
# A role scope at a vault or one of its secrets: .../providers/Microsoft.KeyVault/vaults/<vault>[/secrets/<secret>]
_VAULT_SCOPE = re.compile(
    r"/providers/microsoft\.keyvault/vaults/(?P<vault>[^/]+)(?:/secrets/(?P<secret>[^/]+))?/?$", re.I
)


def secret_provider_classes(resources: Sequence[PolicyResource], report: Report) -> None:
    for spc in of_type(resources, SECRET_PROVIDER_CLASS):
        if value(spc.props, "spec", "provider") != "azure":
            continue
        parameters = value_or(spc.props, {}, "spec", "parameters") or {}
        where = spc.name
        if "tenantId" in parameters:
            report(
                f"{where}: parameter tenantId is deprecated; the provider reads tenantID and will drop the old "
                "spelling, and then the kubelet reports FailedMount: tenantId is not provided. Fix: rename it to "
                "tenantID.",
                spc.urn,
            )
        if value_or(parameters, "false", "usePodIdentity") == "true":
            report(
                f"{where}: usePodIdentity is true: AAD Pod Identity is retired, and no token is exchanged for the "
                "pod. Fix: usePodIdentity 'false' and clientID = the workload identity's client id.",
                spc.urn,
            )
        _judge_identity(resources, spc, parameters, where, report)
        _judge_objects(resources, spc, parameters, where, report)


def _judge_identity(
    resources: Sequence[PolicyResource], spc: PolicyResource, parameters: Any, where: str, report: Report
) -> None:
    """The pods mounting the class must be trusted by its identity: a stack identity's federated credentials
    name their ServiceAccount; an identity from elsewhere must at least be the one that ServiceAccount is
    annotated with (else it is a slip, not a choice)."""
    client_id, trusted = value(parameters, "clientID"), federated_service_accounts_by_client_id(resources)
    if client_id is None or trusted is None:
        return
    annotated = {
        (value(sa.props, "metadata", "namespace"), value(sa.props, "metadata", "name")): value(
            sa.props, "metadata", "annotations", CLIENT_ID_ANNOTATION
        )
        for sa in of_type(resources, SERVICE_ACCOUNT)
    }
    for owner, namespace, service_account in _pods_mounting(resources, spc):
        account = f"{namespace}/{service_account}"
        if client_id in trusted and (namespace, service_account) not in trusted[client_id]:
            report(
                f"{owner.name}: its pods mount {spc.name} as {account}, which the class's identity {client_id} has "
                "no federated credential for; the kubelet reports FailedMount with AADSTS70021. Fix: run the pods "
                "as the federated ServiceAccount.",
                owner.urn,
            )
        elif client_id not in trusted and annotated.get((namespace, service_account)) not in (None, client_id):
            report(
                f"{where}: clientID {client_id} is not the client id its pods' ServiceAccount {account} is "
                f"annotated with ({annotated[(namespace, service_account)]}); the kubelet reports FailedMount with "
                "AADSTS700016 or AADSTS70021. Fix: the workload identity's clientId.",
                spc.urn,
            )


def _judge_objects(
    resources: Sequence[PolicyResource], spc: PolicyResource, parameters: Any, where: str, report: Report
) -> None:
    """Judged only where this stack decides what the class's identity may read: when every Key Vault data
    role it holds here is known and scoped to a vault (or a secret), a class naming another vault (or
    secret) gets 403. An identity with no data role in this stack may be granted one elsewhere."""
    reach = _data_role_reach(resources, value(parameters, "clientID"))
    vault_name, objects = value(parameters, "keyvaultName"), value(parameters, "objects")
    if reach is None or vault_name is None:
        return
    vault_name = vault_name.lower()
    if vault_name not in reach:
        report(
            f"{where}: keyvaultName {vault_name} is not a vault its identity may read here "
            f"({', '.join(sorted(reach))}); the kubelet reports FailedMount with 403 (or a name that does not "
            "resolve). Fix: the vault's name.",
            spc.urn,
        )
        return
    secrets = reach[vault_name]
    if objects is None or secrets is None:
        return
    for item in yaml.safe_load(objects).get("array", []):
        name = str(yaml.safe_load(item).get("objectName"))
        if name.lower() not in secrets:
            report(
                f"{where}: object {name} is not a secret its identity may read in {vault_name} "
                f"({', '.join(sorted(secrets))}); the kubelet reports FailedMount with 403. Fix: its objectName.",
                spc.urn,
            )


def _data_role_reach(resources: Sequence[PolicyResource], client_id: str | None) -> dict[str, set[str] | None] | None:
    """vault name -> the secrets (None: all) the identity with this client id may read through its Key Vault data
    roles in this stack; None when that cannot be told (unknown values, no such role, or a wider scope)."""
    principals = {value(r.props, "clientId"): value(r.props, "principalId") for r in of_type(resources, IDENTITY)}
    principal = principals.get(client_id)
    if client_id is None or principal is None:
        return None
    scopes = [
        value(a.props, "scope")
        for a in of_type(resources, ROLE_ASSIGNMENT)
        if role_guid(a) in KEY_VAULT_DATA_ROLES and value(a.props, "principalId") == principal
    ]
    if not scopes or None in scopes:
        return None
    reach: dict[str, set[str] | None] = {}
    for scope in scopes:
        match = _VAULT_SCOPE.search(scope)
        if match is None:
            return None  # a group or subscription: any vault below it
        # Key Vault names vaults and secrets case-insensitively.
        vault, secret = match.group("vault").lower(), (match.group("secret") or "").lower() or None
        known_secrets = reach.get(vault, set())
        reach[vault] = None if secret is None or known_secrets is None else {*known_secrets, secret}
    return reach


def _pods_mounting(
    resources: Sequence[PolicyResource], spc: PolicyResource
) -> Iterator[tuple[PolicyResource, str, str]]:
    """(owner, namespace, ServiceAccount) of each pod template whose CSI volume names this class, in its namespace."""
    name, namespace = value(spc.props, "metadata", "name"), value(spc.props, "metadata", "namespace")
    for resource in resources:
        where = POD_TEMPLATE_PATHS.get(resource.resource_type)
        template = value_or(resource.props, {}, *where) if where is not None else None
        if not template or value(resource.props, "metadata", "namespace") != namespace:
            continue
        for volume in value_or(template, [], "spec", "volumes") or []:
            csi = value_or(volume, {}, "csi") or {}
            classes = value_or(csi, {}, "volumeAttributes") or {}
            if value(csi, "driver") == CSI_SECRETS_DRIVER and value(classes, "secretProviderClass") == name:
                yield resource, namespace, value_or(template, "default", "spec", "serviceAccountName")
