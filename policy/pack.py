"""The policies of the pack, built from the plain rule functions (constructing a PolicyPack starts a server)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import FunctionType

import csi_rules
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import ReportViolation

import hardening_rules
import role_rules
import wiring_rules

StackRule = Callable[[Sequence[wiring_rules.PolicyResource], wiring_rules.Report], None]

# name -> (rule, what it prevents)
STACK_RULES: dict[str, tuple[StackRule, str]] = {
    "workload-identity-issuer": (
        wiring_rules.federated_credential_issuer,
        "A federated credential's issuer is a cluster's OIDC issuer URL, exactly (AADSTS700211).",
    ),
    "workload-identity-subject-audience": (
        wiring_rules.federated_credential_subject_and_audience,
        "A federated credential trusts a declared ServiceAccount with audience api://AzureADTokenExchange.",
    ),
    "workload-identity-service-account": (
        wiring_rules.service_account_client_id,
        "A ServiceAccount's client-id annotation names an identity federated for it (AADSTS70021).",
    ),
    "workload-identity-pods": (
        wiring_rules.workload_pods,
        "Labelled pods run as a federated ServiceAccount outside kube-system, and such pods are labelled.",
    ),
    "workload-identity-secret-provider-class": (
        csi_rules.secret_provider_classes,
        "A SecretProviderClass signs in (tenantID, not tenantId) as a federated identity its pods run as, and "
        "reads a vault and secret of the stack.",
    ),
    "workload-identity-key-vault-roles": (
        role_rules.key_vault_data_roles,
        "Key Vault data roles go to workload identities, as ServicePrincipal, at vault scope or narrower.",
    ),
    "workload-identity-no-broad-roles": (
        role_rules.no_broad_roles_for_workloads,
        "No Owner, Contributor or User Access Administrator for workload or kubelet identities.",
    ),
    "workload-identity-kubelet-pull": (
        role_rules.kubelet_can_pull,
        "Each cluster's kubelet identity holds AcrPull on the stack's registries (image pull 401).",
    ),
}


def stack_policy(name: str, rule: StackRule, description: str) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        rule(args.resources, report)

    return StackValidationPolicy(name, description, validate, EnforcementLevel.MANDATORY)


def resource_policy(rule: FunctionType) -> ResourceValidationPolicy:
    """A rule of hardening_rules as an advisory policy, named and described by the function itself."""
    name = "hardening-" + rule.__name__.replace("_", "-")

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        rule(args.resource_type, args.props, lambda message: report(f"{args.name}: {message}", None))

    return ResourceValidationPolicy(name, (rule.__doc__ or name).strip(), validate, EnforcementLevel.ADVISORY)


def policies() -> list[Policy]:
    return [
        *(stack_policy(name, rule, text) for name, (rule, text) in STACK_RULES.items()),
        *(resource_policy(rule) for rule in hardening_rules.RESOURCE_RULES),
    ]
