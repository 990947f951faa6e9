"""`pulumi preview` tells the truth: an in-place update shows that resource and nothing else, a
second `up` is a no-op, and the first preview of a new stack runs no read before its resource exists.

The engine is emulated as tests/stack/engine.py describes: in a preview, azure-native answers an
update with the inputs plus `name` and `location`, every other output unknown; invokes read the
live resources. A value read from a resource's own outputs would turn unknown and show every
reader as changed (a role assignment with an unknown principal is replaced).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerregistry as containerregistry
import pulumi_azure_native.containerservice as containerservice
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity
import pytest

from tests.conftest import Deployed
from tests.stack.cuts import tamper
from tests.stack.engine import CREATE, SAME
from tests.stack.harness import Cut, Evaluation, evaluate, evaluate_stack

STACKS = ["dev", "prod"]


def preview(stack: str, prior: Evaluation, config: dict[str, Any] | None = None, cut: Cut | None = None) -> Evaluation:
    return evaluate_stack(stack, config, prior=prior, preview=True, cut=cut)


def add_tag(name: str, kw: dict) -> None:
    kw["tags"] = {**kw["tags"], "cost-center": "4711"}


# The four resources whose computed outputs others read: (module, class, logical name).
TAGGED = {
    "cluster": (containerservice, "ManagedCluster", "cluster"),
    "vault": (keyvault, "Vault", "secret-store-vault"),
    "registry": (containerregistry, "Registry", "registry"),
    "workload identity": (managedidentity, "UserAssignedIdentity", "demo-identity"),
}


TAG_CUTS = {
    resource: Cut(f"a tag on the {resource}", lambda mp, module=module, cls=cls: tamper(mp, module, cls, add_tag))
    for resource, (module, cls, _) in TAGGED.items()
}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("resource", list(TAGGED))
def test_a_tag_on_one_resource_previews_as_an_update_of_that_resource_only(
    deployed: Deployed, stack: str, resource: str
) -> None:
    before = deployed(stack)
    name = TAGGED[resource][2]
    shown = preview(stack, before, cut=TAG_CUTS[resource])
    assert shown.changes(before) == {name: "update: tags"}
    assert shown.unknown_exports == set()


# Ordinary configuration changes: (stack, change, the one resource it updates).
CONFIG_CHANGES: list[tuple[str, dict[str, Any], str]] = [
    ("dev", {"nodeCount": 2}, "cluster"),
    ("prod", {"nodeCount": 5}, "cluster"),
    ("dev", {"authorizedIpRanges": ["52.140.10.0/24"]}, "cluster"),
    ("dev", {"acrSku": "Standard"}, "registry"),
    ("prod", {"acrSku": "Standard"}, "registry"),
    ("dev", {"keyVaultPurgeProtection": True}, "secret-store-vault"),
    ("prod", {"keyVaultAllowedIpRanges": ["52.140.10.0/24", "20.43.7.9/32"]}, "secret-store-vault"),
]


@pytest.mark.parametrize(
    ("stack", "change", "updated"), CONFIG_CHANGES, ids=[f"{s}-{next(iter(c))}" for s, c, _ in CONFIG_CHANGES]
)
def test_a_configuration_change_previews_as_an_update_of_its_resource_only(
    deployed: Deployed, stack: str, change: dict[str, Any], updated: str
) -> None:
    before = deployed(stack)
    changes = preview(stack, before, change).changes(before)
    assert list(changes) == [updated], changes
    assert changes[updated].startswith("update: ")


@pytest.mark.parametrize("stack", STACKS)
def test_a_second_up_changes_nothing(deployed: Deployed, stack: str) -> None:
    before = deployed(stack)
    for again in (preview(stack, before), evaluate_stack(stack, prior=before)):
        assert {r.name: r.step for r in again.resources if r.step != SAME} == {}
        assert again.exports == before.exports


@pytest.mark.parametrize("stack", STACKS)
def test_the_first_preview_reads_nothing_that_does_not_exist_yet(stack: str) -> None:
    """In the preview of a new stack nothing exists: a read of a resource the stack creates must wait
    for it (here its arguments stay unknown), or the preview fails with ResourceNotFound."""
    first = evaluate_stack(stack, preview=True)
    assert {r.step for r in first.resources} == {CREATE}
    reads = [i for i in first.invokes if ":get" in i or ":list" in i]
    assert reads == ["azure-native:authorization:getClientConfig"]


def pull_principal_from_the_cluster_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AcrPull assignment's principal read from the cluster's own output, as the stack once did."""
    clusters: list[containerservice.ManagedCluster] = []
    original: Callable[..., containerservice.ManagedCluster] = containerservice.ManagedCluster

    def record(*args: Any, **kwargs: Any) -> containerservice.ManagedCluster:
        clusters.append(original(*args, **kwargs))
        return clusters[-1]

    def principal_from_cluster_output(name: str, kw: dict) -> None:
        if name.endswith("kubelet-acrpull"):
            kw["principal_id"] = clusters[-1].identity_profile.apply(lambda p: (p or {})["kubeletidentity"].object_id)

    monkeypatch.setattr(containerservice, "ManagedCluster", record)
    tamper(monkeypatch, authorization, "RoleAssignment", principal_from_cluster_output)


PULL_PRINCIPAL_FROM_CLUSTER = Cut("AcrPull principal from the cluster's output", pull_principal_from_the_cluster_output)


def test_the_emulated_preview_shows_what_reading_a_resource_output_would_cost() -> None:
    """The emulation is not blind: wire the AcrPull assignment to the cluster's own output again (as the
    stack once did) and a node-count preview shows it, with its unknown principal, as changed."""
    before = evaluate(stack="dev", cut=PULL_PRINCIPAL_FROM_CLUSTER)
    changes = preview("dev", before, {"nodeCount": 2}, cut=PULL_PRINCIPAL_FROM_CLUSTER).changes(before)
    assert changes == {"cluster": "update: agentPoolProfiles", "cluster-kubelet-acrpull": "replace: principalId"}
