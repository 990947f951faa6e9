"""The policy pack's rules, fed this stack's own resources as the emulated engine evaluates them.

The rules are plain functions (constructing a PolicyPack starts a server); they get the policy SDK's own
argument types, with props wrapped by its unknown-checking proxy as `pulumi preview` wraps them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from pulumi_policy.proxy import unknown_checking_proxy

import hardening_rules
from pack import STACK_RULES, policies
from tests.conftest import Deployed
from tests.stack.harness import Evaluation, Registered, evaluate
from tests.stack.test_cut_wires import CUTS

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
}


def policy_resources(ev: Evaluation) -> list[PolicyResource]:
    """The stack as a stack policy sees it: outputs (planned ones in a preview), options, dependencies."""
    found: dict[str, PolicyResource] = {}
    for r in ev.resources:
        opts = PolicyResourceOptions(
            False, r.ignore_changes, r.delete_before_replace, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent
        )
        found[r.urn] = PolicyResource(
            r.type, unknown_checking_proxy(dict(r.outputs)), r.urn, r.name, opts, None, None, [], {}
        )
    for r in ev.resources:
        found[r.urn].dependencies = [found[u] for u in r.dependencies if u in found]
    return list(found.values())


def stack_violations(ev: Evaluation) -> dict[str, list[str]]:
    resources = policy_resources(ev)
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
    assert {r.name: resource_violations(r) for r in ev.custom_resources() if resource_violations(r)} == {}


def test_a_first_preview_with_its_unknowns_raises_no_false_violation() -> None:
    preview = evaluate(preview=True)
    assert any("04da6b54" in str(r.outputs) for r in preview.resources), "the preview has unknowns to skip"
    assert stack_violations(preview) == {}


CHAIN_CUTS = [cut for cut in CUTS if POLICY_OF_CUT.get(cut)]


@pytest.mark.parametrize("cut", CHAIN_CUTS, ids=CHAIN_CUTS)
def test_each_cut_wire_fails_the_policy_that_names_it(monkeypatch: pytest.MonkeyPatch, cut: str) -> None:
    expected = POLICY_OF_CUT[cut]
    CUTS[cut][0](monkeypatch)
    violations = stack_violations(evaluate())
    assert expected in violations, violations
    for message in violations[expected]:  # the resource, the error it prevents, the fix
        assert message.split(":", 1)[0] in {r.name for r in evaluate().resources}, message
        assert re.search(r"AADSTS\d+|\b40[13]\b|exit \d|least privilege", message), message
        assert "Fix: " in message, message


@pytest.mark.parametrize("cut", ["wrong audience", "no client-id annotation", "Job runs as the default ServiceAccount"])
def test_a_known_wrong_value_fails_in_a_first_preview_too(monkeypatch: pytest.MonkeyPatch, cut: str) -> None:
    CUTS[cut][0](monkeypatch)
    assert POLICY_OF_CUT[cut] in stack_violations(evaluate(preview=True))


def test_every_cut_wire_is_classified() -> None:
    assert set(POLICY_OF_CUT) == set(CUTS)
    assert {p for p in POLICY_OF_CUT.values() if p} <= set(STACK_RULES)


def set_path(props: dict[str, Any], keys: tuple[str, ...], new: Any) -> dict[str, Any]:
    edited = copy.deepcopy(props)
    target = edited
    for key in keys[:-1]:
        target = target.setdefault(key, {})
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
        ("Job", ("spec", "template", "spec", "automountServiceAccountToken"), True, "mounts a Kubernetes API token"),
    ],
)
def test_each_hardening_rule_fails_on_its_setting(dev: Evaluation, kind: str, keys: tuple, new: Any, said: str) -> None:
    (resource,) = [r for r in dev.custom_resources() if r.type.endswith(f":{kind}")]
    assert resource_violations(resource) == []
    messages = resource_violations(resource, set_path(resource.inputs, keys, new))
    assert any(said in m for m in messages), messages


def test_hardening_judges_no_unknown(dev: Evaluation) -> None:
    job = next(r for r in dev.custom_resources() if r.type == "kubernetes:batch/v1:Job")
    unknown = set_path(
        job.inputs, ("spec", "template", "spec", "automountServiceAccountToken"), "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    )
    assert resource_violations(job, unknown) == []


def test_the_pack_declares_mandatory_wiring_and_advisory_hardening() -> None:
    built = policies()
    names = [p.name for p in built]
    assert len(names) == len(set(names))
    levels = {p.name: p.enforcement_level for p in built}
    assert all(levels[name] == EnforcementLevel.MANDATORY for name in STACK_RULES)
    assert {n for n, level in levels.items() if level == EnforcementLevel.ADVISORY} == {
        n for n in names if n.startswith("hardening-")
    }
