"""deployerObjectIds: the people and CI identities that run up or preview each get the deployer's role, so a
preview by any of them shows no change; unset, whoever runs the program is the deployer, as before."""

from __future__ import annotations

import pytest

from tests.stack import constants as t
from tests.stack.harness import DEPLOYER_OBJECT_ID, Evaluation, EvaluationFailed, evaluate
from tests.stack.stacks import THREE_WORKLOADS

CI = "0f0e0d0c-0b0a-0908-0706-050403020100"
BOTH = {"deployerObjectIds": [DEPLOYER_OBJECT_ID, CI]}


def deployer_roles(ev: Evaluation) -> dict[str, list[str]]:
    """namespace -> the principals holding the deployer's role on it."""
    found: dict[str, list[str]] = {}
    for assignment in ev.of_type(t.ROLE_ASSIGNMENT):
        if "/namespaces/" in assignment.inputs["scope"]:
            found.setdefault(assignment.inputs["scope"].rsplit("/", 1)[-1], []).append(assignment.inputs["principalId"])
    return {namespace: sorted(principals) for namespace, principals in found.items()}


def test_unset_the_deployer_is_whoever_runs_the_program(dev: Evaluation) -> None:
    assert deployer_roles(dev) == {"workload-identity-demo": [DEPLOYER_OBJECT_ID]}
    as_ci = evaluate(client=CI)
    assert deployer_roles(as_ci) == {"workload-identity-demo": [CI]}


def test_a_preview_by_another_principal_replaces_the_role_when_unset(dev: Evaluation) -> None:
    """The problem the setting solves: CI's pull-request preview would take the namespace from the person."""
    changes = evaluate(prior=dev, preview=True, client=CI).changes(dev)
    assert changes["namespace-workload-identity-demo-deployer-writer"] == "replace: principalId"


def test_each_listed_deployer_holds_the_role_on_every_namespace() -> None:
    ev = evaluate(THREE_WORKLOADS | BOTH)
    both = sorted([DEPLOYER_OBJECT_ID, CI])
    assert deployer_roles(ev) == {"shop": both, "analytics": both}
    wait = ev.named("namespace-shop-rbac-ready")
    assert wait.inputs["environment"]["DEPLOYER_OBJECT_ID"] == f"{DEPLOYER_OBJECT_ID} {CI}"
    roles = [ev.named("namespace-shop-deployer-writer"), ev.named("namespace-shop-deployer-1-writer")]
    assert wait.inputs["triggers"] == [role.id for role in roles]
    assert {role.urn for role in roles} <= set(wait.dependencies)


@pytest.mark.parametrize("runner", [DEPLOYER_OBJECT_ID, CI], ids=["person", "CI"])
def test_a_preview_by_any_listed_deployer_changes_nothing(runner: str) -> None:
    deployed = evaluate(BOTH, client=DEPLOYER_OBJECT_ID)
    assert evaluate(BOTH, prior=deployed, preview=True, client=runner).changes(deployed) == {}
    assert evaluate(BOTH, prior=deployed, client=runner).changes(deployed) == {}


def test_listing_the_deployers_on_a_running_stack_adds_the_new_ones_only(dev: Evaluation) -> None:
    """The person who deployed keeps the assignment (the first keeps its name); CI's is created, and the waits
    that follow the deployers' access run again."""
    changes = evaluate(BOTH, prior=dev, preview=True).changes(dev)
    assert changes == {
        "namespace-workload-identity-demo-deployer-1-writer": "create",
        "namespace-workload-identity-demo-rbac-ready": "replace: environment, triggers",
        "demo-secret-provider-class-kind-ready": "replace: triggers",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["not-a-guid"], "config 'deployerObjectIds': 'not-a-guid' is not an object id (a GUID)"),
        ([CI, CI], "config 'deployerObjectIds': lists an object id twice"),
    ],
)
def test_bad_deployers_are_refused_in_one_line(value: list[str], message: str) -> None:
    with pytest.raises(EvaluationFailed) as raised:
        evaluate({"deployerObjectIds": value})
    assert str(raised.value.cause).startswith(message)
    assert raised.value.resources == []
