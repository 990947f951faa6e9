"""Switching secretDelivery on a deployed stack: what a preview shows, and that each change is one Azure and
Kubernetes accept (a role assignment's role cannot be updated in place; an add-on left out of a PUT stays on)."""

from __future__ import annotations

import pytest

from tests.stack import constants as t
from tests.stack.harness import Evaluation, evaluate

ROLE = "namespace-workload-identity-demo-deployer-writer"
CSI_OBJECTS = {
    "demo-secret-provider-class": "create",
    "demo-secret-provider-class-kind-ready": "create",
    "demo-file-isolation": "create",
    "demo-demo-secret-file-job": "create",
}


def switch(before: str, after: str) -> tuple[Evaluation, dict[str, str]]:
    deployed = evaluate({"secretDelivery": before})
    preview = evaluate({"secretDelivery": after}, prior=deployed, preview=True)
    return preview, preview.changes(deployed)


def test_sdk_to_csi_enables_the_add_on_replaces_the_role_and_adds_the_file_chain() -> None:
    preview, changes = switch("sdk", "both")
    assert changes[ROLE] == "replace: roleDefinitionId"
    assert changes["cluster"] == "update: addonProfiles"
    assert changes["namespace-workload-identity-demo-rbac-ready"].startswith("replace: ")  # it waits for the new role
    assert {name: changes.get(name) for name in CSI_OBJECTS} == CSI_OBJECTS
    # The component of the class is new too; nothing of the SDK path changes.
    assert {"demo-demo-secret-job", "demo-egress", "demo-sa", "demo-federation"}.isdisjoint(changes)
    assert preview.one(t.CLUSTER).inputs["addonProfiles"]["azureKeyvaultSecretsProvider"]["enabled"] is True


def test_csi_to_sdk_disables_the_add_on_returns_to_writer_and_removes_the_file_chain() -> None:
    preview, changes = switch("both", "sdk")
    assert changes[ROLE] == "replace: roleDefinitionId"
    assert changes["cluster"] == "update: addonProfiles"
    assert preview.one(t.CLUSTER).inputs["addonProfiles"] == {"azureKeyvaultSecretsProvider": {"enabled": False}}
    for name in CSI_OBJECTS:
        assert changes[name] == "delete", name
    assert "demo-demo-secret-job" not in changes


@pytest.mark.parametrize("delivery", ["sdk", "csi", "both"])
def test_every_role_assignment_is_replaced_when_its_role_changes(delivery: str) -> None:
    """ARM answers RoleAssignmentUpdateNotPermitted to a new role on an existing assignment; azure-native
    replaces an assignment only for a new principal or scope (provider/pkg/gen/replacement.go)."""
    for assignment in evaluate({"secretDelivery": delivery}).of_type(t.ROLE_ASSIGNMENT):
        assert "roleDefinitionId" in assignment.replace_on_changes, assignment.name


def test_a_second_up_in_each_mode_changes_nothing() -> None:
    for delivery in ("sdk", "csi", "both"):
        deployed = evaluate({"secretDelivery": delivery})
        again = evaluate({"secretDelivery": delivery}, prior=deployed, preview=True)
        assert again.changes(deployed) == {}, delivery
