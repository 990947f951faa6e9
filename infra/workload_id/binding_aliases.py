"""Where a running stack's binding resources were before this program declared them through the
WorkloadBinding component: each child's earlier URNs, so that an `up` takes them over instead of replacing
them (the identity's client id, the credential and the grants stay).

The component's children get new parents (the binding, not the WorkloadIdentity and Workload components)
and the grants new names, which the engine's own alias inheritance cannot follow: the earlier URNs are
given whole (pulumi/pulumi pkg/resource/deploy/step_generator.go, generateAliases: an alias may be a URN).
The program adds them through a stack transformation; the component itself knows nothing of this history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
GRANT = "azure-native:authorization:RoleAssignment"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
# The components the binding's resources had as parents, by release.
WORKLOAD_IDENTITY, WORKLOAD, DEMO_WORKLOAD, BINDING = (
    "workloadid:azure:WorkloadIdentity",
    "workloadid:kubernetes:Workload",
    "workloadid:kubernetes:DemoWorkload",
    "workloadid:index:WorkloadBinding",
)


def earlier_urns(
    stack: str, project: str, workload: str, secrets: Sequence[str], first: bool
) -> dict[tuple[str, str], list[str]]:
    """(type, name) of each child of the workload's binding -> its earlier URNs. `first`: the workload that
    took over a stack with one workload, whose resources had yet older names."""

    def urn(parent: str, typ: str, name: str) -> str:
        return f"urn:pulumi:{stack}::{project}::{parent}${typ}::{name}"

    found = {
        (IDENTITY, f"{workload}-identity"): [urn(WORKLOAD_IDENTITY, IDENTITY, f"{workload}-identity")],
        (CREDENTIAL, f"{workload}-federation"): [urn(WORKLOAD, CREDENTIAL, f"{workload}-federation")],
        (SERVICE_ACCOUNT, f"{workload}-sa"): [urn(WORKLOAD, SERVICE_ACCOUNT, f"{workload}-sa")],
    }
    for secret in secrets:
        found[(GRANT, f"{workload}.{secret}-secrets-user")] = [
            urn(WORKLOAD_IDENTITY, GRANT, f"{workload}-identity-{secret}-secrets-user"),
            urn(BINDING, GRANT, f"{workload}-{secret}-secrets-user"),  # 80fdbdb..8d217cb named it so
        ]
    if first:  # one workload, one identity, one secret (up to 177a8f2)
        found[(IDENTITY, f"{workload}-identity")].append(urn(WORKLOAD_IDENTITY, IDENTITY, "workload-identity"))
        found[(CREDENTIAL, f"{workload}-federation")].append(urn(DEMO_WORKLOAD, CREDENTIAL, "demo-federation"))
        found[(SERVICE_ACCOUNT, f"{workload}-sa")].append(urn(DEMO_WORKLOAD, SERVICE_ACCOUNT, "demo-sa"))
        if secrets:
            found[(GRANT, f"{workload}.{secrets[0]}-secrets-user")].append(
                urn(WORKLOAD_IDENTITY, GRANT, "workload-identity-secrets-user")
            )
    return found


def earlier_components(workload: str, first: bool) -> list[pulumi.Alias]:
    """The component the binding takes the place of: the workload's WorkloadIdentity (`first`: also the one
    a stack with one workload named `workload-identity`)."""
    names = [f"{workload}-identity", *(["workload-identity"] if first else [])]
    return [pulumi.Alias(name=name, type_=WORKLOAD_IDENTITY) for name in names]


def register(aliases: Mapping[tuple[str, str], list[str]]) -> None:
    """Give each resource named in `aliases` its earlier URNs (call before any resource is declared)."""

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        earlier = aliases.get((args.type_, args.name))
        if not earlier:
            return None
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(aliases=list(earlier)))
        )

    pulumi.runtime.register_stack_transformation(transformation)
