"""Stack rule for the Secrets Store CSI driver in workload-identity mode: each SecretProviderClass signs in as a
federated identity the pods that mount it run as, and reads a vault and secret the stack declares.

The Azure provider exchanges the mounting pod's ServiceAccount token for the class's `clientID`
(secrets-store-csi-driver-provider-azure pkg/provider/provider.go); a mismatch fails the mount and the pod never
starts (kubelet events: FailedMount).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from pulumi_policy import PolicyResource

from props import of_type, value, value_or
from wiring_rules import (
    CSI_SECRETS_DRIVER,
    IDENTITY,
    POD_TEMPLATE_PATHS,
    Report,
    federated_service_accounts_by_client_id,
)

SECRET_PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"


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
    client_id, trusted = value(parameters, "clientID"), federated_service_accounts_by_client_id(resources)
    if client_id is None or trusted is None or not of_type(resources, IDENTITY):
        return
    if client_id not in trusted:
        report(
            f"{where}: clientID {client_id} is no workload identity of this stack (a user-assigned identity with a "
            "federated credential); the mount fails with AADSTS700016 or AADSTS70021. Fix: the identity's clientId.",
            spc.urn,
        )
        return
    for owner, namespace, service_account in _pods_mounting(resources, spc):
        if (namespace, service_account) not in trusted[client_id]:
            report(
                f"{owner.name}: its pods mount {spc.name} as {namespace}/{service_account}, which the class's "
                f"identity {client_id} has no federated credential for; the mount fails with AADSTS70021. "
                "Fix: run the pods as the federated ServiceAccount.",
                owner.urn,
            )


def _judge_objects(
    resources: Sequence[PolicyResource], spc: PolicyResource, parameters: Any, where: str, report: Report
) -> None:
    vault_name, objects = value(parameters, "keyvaultName"), value(parameters, "objects")
    vaults = {value(v.props, "name") for v in of_type(resources, VAULT)}
    if vault_name is None or not vaults or None in vaults:
        return
    if vault_name not in vaults:
        report(
            f"{where}: keyvaultName {vault_name} is not a vault of this stack ({', '.join(sorted(vaults))}); the "
            "mount fails (the name does not resolve, or 403). Fix: the vault's name.",
            spc.urn,
        )
        return
    secrets = {value(s.props, "name") for s in of_type(resources, SECRET)}
    if objects is None or None in secrets:
        return
    for item in yaml.safe_load(objects).get("array", []):
        name = yaml.safe_load(item).get("objectName")
        if name not in secrets:
            report(
                f"{where}: object {name} is not a secret this stack declares ({', '.join(sorted(secrets))}); the "
                "mount fails with 404 SecretNotFound, or 403 where the role is scoped to a secret. Fix: its name.",
                spc.urn,
            )


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
