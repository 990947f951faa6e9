"""The policy pack's rules, fed this stack's own resources as the emulated engine evaluates them.

The rules are plain functions (constructing a PolicyPack starts a server); they get the policy SDK's own
argument types, with props wrapped by its unknown-checking proxy as `pulumi preview` wraps them.
"""

from __future__ import annotations

import copy
import importlib
import re
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE as UNKNOWN
from pulumi_policy.proxy import unknown_checking_proxy
from workload_binding import binding

import hardening_rules
import wiring_rules
from pack import STACK_RULES, policies
from tests.conftest import Deployed
from tests.stack import constants as t
from tests.stack.cuts import CUTS, tamper
from tests.stack.harness import Cut, Evaluation, Registered, evaluate
from tests.stack.stacks import THREE_WORKLOADS
from tests.stack.test_existing_cluster import ALL_EXISTING, cluster_exists
from tests.stack.test_existing_resources import EXISTING_REGISTRY, adopting
from wiring_rules import USE_LABEL
from workload_id import roles, workload

# Which policy names each wire the cut-wire suite cuts; None: a wire of this program's own structure
# (where its Kubernetes objects live, what its Job waits for) that no policy can read from the stack.
POLICY_OF_CUT: dict[str, str | None] = {
    "issuer without trailing slash": "workload-identity-issuer",
    "subject in another namespace": "workload-identity-subject-audience",
    "wrong audience": "workload-identity-subject-audience",
    "audience constant": "workload-identity-subject-audience",
    "no client-id annotation": "workload-identity-pods",
    "pod label missing": "workload-identity-pods",
    "pod label key typo": "workload-identity-pods",
    "Job runs as the default ServiceAccount": "workload-identity-pods",
    "NetworkPolicy in another namespace": None,
    "Secrets User on another principal": "workload-identity-key-vault-roles",
    "Secrets User at resource-group scope": "workload-identity-key-vault-roles",
    "AcrPull on another principal": "workload-identity-kubelet-pull",
    "Secrets User role GUID": "workload-identity-key-vault-roles",
    "Job does not wait for the federated credential": None,
    "Job does not wait for the role assignments": None,
    "Job does not wait for the secret": None,
    "Job does not wait for the image build": None,
    "class signs in as another identity": "workload-identity-secret-provider-class",
    "class uses the deprecated tenantId key": "workload-identity-secret-provider-class",
    "class names another vault": "workload-identity-secret-provider-class",
    "class names another secret": "workload-identity-secret-provider-class",
    "file Job runs as the default ServiceAccount": "workload-identity-secret-provider-class",
    "file Job mounts no CSI volume": None,
    "file Job does not wait for the class": None,
}


def outputs_as_stored(r: Registered) -> dict[str, Any]:
    """What the state holds as a resource's outputs, which stack policies read. azure-native returns only the
    properties its SDK class declares as outputs (not inputs such as resourceName: provider.go Create maps the
    response body); the emulated engine echoes every input, so the rest is dropped here. Kubernetes returns
    the object."""
    if not r.type.startswith("azure-native:"):
        return dict(r.outputs)
    _, module, name = r.type.split(":")
    # From the class's own module: a cut-wire test may have replaced the package's attribute.
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    sdk_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}.{snake}"), name)
    declared = {getattr(v.fget, "_pulumi_name", None) for v in vars(sdk_class).values() if isinstance(v, property)}
    return {k: v for k, v in r.outputs.items() if k in declared}


def policy_resources(ev: Evaluation) -> list[PolicyResource]:
    """The stack as a stack policy sees it: stored outputs (planned ones in a preview), options, dependencies."""
    found: dict[str, PolicyResource] = {}
    for r in ev.resources:
        opts = PolicyResourceOptions(
            False, r.ignore_changes, r.delete_before_replace, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent
        )
        props = unknown_checking_proxy(outputs_as_stored(r))
        found[r.urn] = PolicyResource(r.type, props, r.urn, r.name, opts, None, None, [], {})
    for r in ev.resources:
        found[r.urn].dependencies = [found[u] for u in r.dependencies if u in found]
        found[r.urn].property_dependencies = {
            key: [found[u] for u in urns if u in found] for key, urns in r.property_dependencies.items()
        }
    return list(found.values())


def stack_violations(ev: Evaluation, *extra: PolicyResource) -> dict[str, list[str]]:
    resources = [*policy_resources(ev), *extra]
    found: dict[str, list[str]] = {}
    for name, (rule, _) in STACK_RULES.items():
        rule(resources, lambda message, urn=None, name=name: found.setdefault(name, []).append(message))
    return found


def resource_violations(resource: Registered, inputs: dict[str, Any] | None = None) -> list[str]:
    props = unknown_checking_proxy(dict(resource.inputs if inputs is None else inputs))
    said: list[str] = []
    for rule in hardening_rules.RESOURCE_RULES:
        rule(resource.type, props, said.append)
    return said


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_passes_every_policy(deployed: Deployed, stack: str) -> None:
    ev = deployed(stack)
    assert stack_violations(ev) == {}
    said = {r.name: resource_violations(r) for r in ev.custom_resources()}
    assert {name: messages for name, messages in said.items() if messages} == {}


def test_three_workloads_pass_every_policy_and_a_cut_in_one_fails_it() -> None:
    """The pack judges every workload, not only the demo: payments' credential for another ServiceAccount fails."""
    three = evaluate(THREE_WORKLOADS)
    assert stack_violations(three) == {}
    assert [m for r in three.custom_resources() for m in resource_violations(r)] == []
    violations = stack_violations(evaluate(THREE_WORKLOADS, cut=PAYMENTS_SUBJECT_IN_DEFAULT))
    assert {"workload-identity-subject-audience", "workload-identity-service-account"} <= set(violations)
    # Only payments' resources are named: orders, in the same namespace, and reports are untouched.
    assert all(message.startswith("payments-") for found in violations.values() for message in found), violations


def payments_subject_in_default(name: str, kw: dict) -> None:
    if name == "payments-federation":
        kw["subject"] = "system:serviceaccount:default:payments"


PAYMENTS_SUBJECT_IN_DEFAULT = Cut(
    "payments' credential for default/payments",
    lambda mp: tamper(mp, managedidentity, "FederatedIdentityCredential", payments_subject_in_default),
)


def test_a_first_preview_with_its_unknowns_raises_no_false_violation() -> None:
    preview = evaluate(preview=True)
    assert any("04da6b54" in str(r.outputs) for r in preview.resources), "the preview has unknowns to skip"
    assert stack_violations(preview) == {}


CHAIN_CUTS = [cut for cut in CUTS if POLICY_OF_CUT.get(cut)]


@pytest.mark.parametrize("cut", CHAIN_CUTS, ids=CHAIN_CUTS)
def test_each_cut_wire_fails_the_policy_that_names_it(cut: str) -> None:
    expected = POLICY_OF_CUT[cut]
    ev = evaluate(cut=CUTS[cut])
    violations = stack_violations(ev)
    assert expected in violations, violations
    names = {r.name for r in ev.resources}
    for message in violations[expected]:  # the resource, the error it prevents, the fix
        assert message.split(":", 1)[0] in names, message
        assert re.search(r"AADSTS\d+|\b40[13]\b|exit \d|least privilege|FailedMount", message), message
        assert "Fix: " in message, message


@pytest.mark.parametrize("cut", ["wrong audience", "no client-id annotation", "Job runs as the default ServiceAccount"])
def test_a_known_wrong_value_fails_in_a_first_preview_too(cut: str) -> None:
    assert POLICY_OF_CUT[cut] in stack_violations(evaluate(preview=True, cut=CUTS[cut]))


def test_every_cut_wire_is_classified() -> None:
    assert set(POLICY_OF_CUT) == set(CUTS)
    assert {p for p in POLICY_OF_CUT.values() if p} <= set(STACK_RULES)


CONTAINER = ("spec", "template", "spec", "containers", 0)
ROOT_CONTEXT = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def set_path(props: dict[str, Any], keys: tuple[str | int, ...], new: Any) -> dict[str, Any]:
    edited = copy.deepcopy(props)
    target: Any = edited
    for key in keys[:-1]:
        target = target[key] if isinstance(key, int) else target.setdefault(key, {})
    target[keys[-1]] = new
    return edited


@pytest.mark.parametrize(
    ("kind", "keys", "new", "said"),
    [
        ("ManagedCluster", ("oidcIssuerProfile", "enabled"), False, "does not enable the OIDC issuer"),
        ("ManagedCluster", ("securityProfile", "workloadIdentity", "enabled"), False, "workload identity"),
        ("ManagedCluster", ("disableLocalAccounts",), False, "local accounts are on"),
        ("Registry", ("adminUserEnabled",), True, "admin user is on"),
        ("Vault", ("properties", "enableRbacAuthorization"), False, "uses access policies"),
        ("ManagedCluster", ("aadProfile", "enableAzureRBAC"), False, "Azure RBAC"),
        ("Registry", ("anonymousPullEnabled",), True, "anonymous pull is on"),
        ("Vault", ("properties", "enableSoftDelete"), False, "soft delete is off"),
        ("Job", ("spec", "template", "spec", "automountServiceAccountToken"), True, "mounts a Kubernetes API token"),
        ("Job", (*CONTAINER, "securityContext"), {**ROOT_CONTEXT, "runAsNonRoot": False, "runAsUser": 0}, "as root"),
        ("Job", (*CONTAINER, "securityContext", "readOnlyRootFilesystem"), False, "can write its root filesystem"),
        ("Job", (*CONTAINER, "securityContext", "allowPrivilegeEscalation"), True, "allows privilege escalation"),
        ("Job", (*CONTAINER, "securityContext", "capabilities", "drop"), [], "keeps Linux capabilities"),
    ],
)
def test_each_hardening_rule_fails_on_its_setting(dev: Evaluation, kind: str, keys: tuple, new: Any, said: str) -> None:
    resource = next(r for r in dev.custom_resources() if r.type.endswith(f":{kind}"))
    assert resource_violations(resource) == []
    messages = resource_violations(resource, set_path(resource.inputs, keys, new))
    assert any(said in m for m in messages), messages


def test_hardening_judges_no_unknown(dev: Evaluation) -> None:
    job = next(r for r in dev.custom_resources() if r.type == "kubernetes:batch/v1:Job")
    keys = ("spec", "template", "spec", "automountServiceAccountToken")
    assert resource_violations(job, set_path(job.inputs, keys, True)) != []  # known and wrong: judged
    assert resource_violations(job, set_path(job.inputs, keys, UNKNOWN)) == []
    unknown_container = set_path(job.inputs, CONTAINER, UNKNOWN)
    assert resource_violations(job, unknown_container) == []


def edit_role(guid: str) -> Any:
    def apply(name: str, kw: dict) -> None:
        if name.endswith("secrets-user"):
            kw["role_definition_id"] = pulumi.Output.from_input(kw["role_definition_id"]).apply(
                lambda role: role.rsplit("/", 1)[0] + "/" + guid
            )

    return apply


OWNER_FOR_THE_WORKLOAD = Cut(
    "Owner for the workload identity", lambda mp: tamper(mp, authorization, "RoleAssignment", edit_role(t.OWNER))
)


def test_owner_for_the_workload_identity_fails_no_broad_roles() -> None:
    assert "workload-identity-no-broad-roles" in stack_violations(evaluate(cut=OWNER_FOR_THE_WORKLOAD))


def test_a_service_account_its_identity_does_not_trust_fails_its_policy() -> None:
    assert "workload-identity-service-account" in stack_violations(evaluate(cut=CUTS["subject in another namespace"]))


def extra(resource_type: str, name: str, props: dict[str, Any]) -> PolicyResource:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    urn = f"urn:pulumi:dev::other::{resource_type}::{name}"
    return PolicyResource(resource_type, unknown_checking_proxy(props), urn, name, opts, None, None, [], {})


def test_other_programs_reasonable_choices_raise_no_violation(deployed: Deployed) -> None:
    dev = deployed("dev")
    ci_reader = extra(
        "azure-native:authorization:RoleAssignment",
        "ci-reads-secrets",
        {
            "principalId": "99999999-0000-0000-0000-000000000000",
            "principalType": "Group",
            "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{t.KEY_VAULT_SECRETS_USER}",
            "scope": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v/secrets/x",
        },
    )
    helm_pod = extra(
        "kubernetes:apps/v1:Deployment",
        "helm-app",
        {
            "metadata": {"namespace": "apps"},
            "spec": {"template": {"metadata": {"labels": {USE_LABEL: "true"}}, "spec": {"serviceAccountName": "x"}}},
        },
    )
    namespace_less = extra("kubernetes:core/v1:Pod", "bare", {"metadata": {}, "spec": {"containers": []}})
    # Another team's class: an identity and a vault granted elsewhere, mounted by its own Deployment.
    their_class = extra(
        "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
        "their-class",
        {
            "metadata": {"name": "theirs", "namespace": "apps"},
            "spec": {
                "provider": "azure",
                "parameters": {
                    "usePodIdentity": "false",
                    "clientID": "88888888-0000-0000-0000-000000000000",
                    "keyvaultName": "kv-elsewhere",
                    "tenantID": "t",
                    "objects": "array:\n  - |\n    objectName: api-key\n    objectType: secret\n",
                },
            },
        },
    )
    their_pods = extra(
        "kubernetes:apps/v1:Deployment",
        "their-app",
        {
            "metadata": {"namespace": "apps"},
            "spec": {
                "template": {
                    "metadata": {"labels": {}},
                    "spec": {
                        "serviceAccountName": "their-sa",
                        "volumes": [
                            {
                                "name": "s",
                                "csi": {
                                    "driver": "secrets-store.csi.k8s.io",
                                    "volumeAttributes": {"secretProviderClass": "theirs"},
                                },
                            }
                        ],
                    },
                }
            },
        },
    )
    assert stack_violations(dev, ci_reader, helm_pod, namespace_less, their_class, their_pods) == {}


def test_the_pack_runs_the_rules_through_the_sdks_own_arguments(dev: Evaluation) -> None:
    by_name = {p.name: p for p in policies()}
    said: list[tuple[str, str | None]] = []
    stack_policy = by_name["workload-identity-issuer"]
    assert isinstance(stack_policy, StackValidationPolicy)
    stack_policy.validate(StackValidationArgs(policy_resources(dev)), lambda m, u=None: said.append((m, u)))
    registry = next(r for r in dev.custom_resources() if r.type.endswith(":Registry"))
    resource_policy = by_name["hardening-registry-access"]
    assert isinstance(resource_policy, ResourceValidationPolicy)
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    props = unknown_checking_proxy(set_path(registry.inputs, ("adminUserEnabled",), True))
    args = ResourceValidationArgs(registry.type, props, registry.urn, registry.name, opts, None)
    resource_policy.validate(args, lambda m, u=None: said.append((m, u)))
    assert said == [
        (
            "registry: the registry's admin user is on: a shared password that never expires. "
            "Fix: adminUserEnabled=false.",
            None,
        )
    ]


def test_the_pack_declares_mandatory_wiring_and_advisory_hardening() -> None:
    built = policies()
    names = [p.name for p in built]
    assert len(names) == len(set(names))
    levels = {p.name: p.enforcement_level for p in built}
    assert all(levels[name] == EnforcementLevel.MANDATORY for name in STACK_RULES)
    assert {n for n, level in levels.items() if level == EnforcementLevel.ADVISORY} == {
        n for n in names if n.startswith("hardening-")
    }


def test_the_pack_and_the_program_agree_on_the_audience_and_the_role_ids() -> None:
    """The pack stands alone (it runs beside any program), so it keeps its own copies: they must match."""
    assert wiring_rules.AUDIENCE == binding.TOKEN_EXCHANGE_AUDIENCE
    assert wiring_rules.KEY_VAULT_DATA_ROLES[roles.KEY_VAULT_SECRETS_USER] == "Key Vault Secrets User"
    assert wiring_rules.ACR_PULL == roles.ACR_PULL
    assert wiring_rules.USE_LABEL == workload.WORKLOAD_IDENTITY_USE_LABEL


@pytest.mark.xdist_group("existing resources")
@pytest.mark.parametrize("existing", ["vault and registry", "cluster, vault and registry", "and AcrPull already held"])
def test_a_stack_on_existing_resources_passes_every_policy(existing: str) -> None:
    """existingCluster, existingKeyVault, existingRegistry: none is declared, so no cluster, vault or registry
    policy has a resource to judge; every other policy still holds (tests/stack/test_existing_resources.py,
    tests/stack/test_existing_cluster.py)."""
    if existing == "vault and registry":
        ev = adopting(EXISTING_REGISTRY | THREE_WORKLOADS)
    else:
        held = {"grantKubeletAcrPull": False} if existing == "and AcrPull already held" else {}
        ev = evaluate(ALL_EXISTING | THREE_WORKLOADS | held, prior=cluster_exists())
    assert stack_violations(ev) == {}
    said = {r.name: resource_violations(r) for r in ev.custom_resources()}
    assert {name: messages for name, messages in said.items() if messages} == {}
