"""Stack rules for role assignments: who may read the vault and pull the image, and nobody holds more."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import PolicyResource

from props import of_type, value
from wiring_rules import (
    ACR_PULL,
    BROAD_ROLES,
    KEY_VAULT_DATA_ROLES,
    KEY_VAULT_READER,
    REGISTRY,
    ROLE_ASSIGNMENT,
    Report,
    kubelet_principals,
    role_guid,
    workload_principals,
)

VAULT_SCOPE = "/providers/microsoft.keyvault/vaults/"


def key_vault_data_roles(resources: Sequence[PolicyResource], report: Report) -> None:
    workloads, workloads_known = workload_principals(resources)
    kubelets, _ = kubelet_principals(resources)
    data_roles = [a for a in of_type(resources, ROLE_ASSIGNMENT) if role_guid(a) in KEY_VAULT_DATA_ROLES]
    principals = [value(a.props, "principalId") for a in data_roles]
    # Misdirected: the stack has workload identities and grants a data role, yet none of them holds one.
    misdirected = workloads_known and bool(workloads) and None not in principals and not workloads & set(principals)
    for assignment in of_type(resources, ROLE_ASSIGNMENT):
        guid, principal = role_guid(assignment), value(assignment.props, "principalId")
        if guid == KEY_VAULT_READER and principal in workloads:
            report(
                f"{assignment.name}: Key Vault Reader is a control-plane role; it reads no secret value, and the "
                "vault answers 403 ForbiddenByRbac. Fix: assign Key Vault Secrets User.",
                assignment.urn,
            )
        if guid in KEY_VAULT_DATA_ROLES:
            _judge_data_role(assignment, KEY_VAULT_DATA_ROLES[guid], workloads, kubelets, misdirected, report)


def _judge_data_role(
    assignment: PolicyResource, role: str, workloads: set[str], kubelets: set[str], misdirected: bool, report: Report
) -> None:
    principal, scope = value(assignment.props, "principalId"), value(assignment.props, "scope")
    kind = value(assignment.props, "principalType")
    if principal in kubelets:
        report(
            f"{assignment.name}: {role} goes to a cluster's kubelet identity, which every pod on its nodes can use; "
            "the workload identity gets nothing (403 ForbiddenByRbac). Fix: assign it to the workload identity's "
            "principalId.",
            assignment.urn,
        )
    elif misdirected:
        report(
            f"{assignment.name}: {role} goes to principal {principal}, and no workload identity of this stack (a "
            "user-assigned identity with a federated credential) holds a Key Vault data role: its pods' reads get "
            "403 ForbiddenByRbac. Fix: assign it to the workload identity's principalId.",
            assignment.urn,
        )
    if principal in workloads and kind is not None and kind != "ServicePrincipal":
        report(
            f"{assignment.name}: principalType is {kind}; a managed identity is a ServicePrincipal, and a wrong type "
            "can delay or break the assignment (403 until it applies). Fix: principalType='ServicePrincipal'.",
            assignment.urn,
        )
    if scope is not None and VAULT_SCOPE not in scope.lower():
        report(
            f"{assignment.name}: {role} at scope {scope} reaches every vault below it, against least privilege. "
            "Fix: scope it to the vault or to the one secret.",
            assignment.urn,
        )


def no_broad_roles_for_workloads(resources: Sequence[PolicyResource], report: Report) -> None:
    workloads, _ = workload_principals(resources)
    kubelets, _ = kubelet_principals(resources)
    for assignment in of_type(resources, ROLE_ASSIGNMENT):
        role = BROAD_ROLES.get(role_guid(assignment) or "")
        principal = value(assignment.props, "principalId")
        if role and principal in workloads | kubelets:
            report(
                f"{assignment.name}: {role} for a workload or kubelet identity: any pod using it could manage (or "
                "grant access to) everything in the scope. Fix: the narrowest data role at the narrowest scope.",
                assignment.urn,
            )


def kubelet_can_pull(resources: Sequence[PolicyResource], report: Report) -> None:
    kubelets, kubelets_known = kubelet_principals(resources)
    pulls = [
        (value(a.props, "principalId"), value(a.props, "scope"))
        for a in of_type(resources, ROLE_ASSIGNMENT)
        if role_guid(a) == ACR_PULL
    ]
    if not kubelets or not kubelets_known or any(None in pull for pull in pulls):
        return
    for registry in of_type(resources, REGISTRY):
        name = value(registry.props, "name")
        # One cluster's kubelet is enough: with several clusters, not every one need pull from every registry.
        if name is not None and not any(p in kubelets and _covers(s, name) for p, s in pulls):
            report(
                f"{registry.name}: no cluster's kubelet identity ({', '.join(sorted(kubelets))}) holds AcrPull on "
                f"registry {name}; image pulls from it fail with 401 (ErrImagePull). Fix: AcrPull for the kubelet "
                "identity at the registry's scope.",
                registry.urn,
            )


def _covers(scope: str, registry_name: str) -> bool:
    """Whether an assignment at `scope` applies to the registry: its own scope, or a group, subscription or
    management group (which of them holds the registry is not among the outputs a policy sees)."""
    scope = scope.lower().rstrip("/")
    own = f"/providers/microsoft.containerregistry/registries/{registry_name.lower()}"
    return scope.endswith(own) or "/providers/" not in scope or scope.startswith("/providers/microsoft.management/")
