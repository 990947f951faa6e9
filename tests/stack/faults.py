"""Interrupted updates, as the engine leaves them, as `pulumi stack export` shows them, and as
`pulumi refresh --clear-pending-creates` resolves them.

An `up` killed while creating a resource: the engine recorded a pending *creating* operation before it
called the provider (pulumi/pulumi pkg/backend/snapshot.go, markOperationPending) and never the resource
itself; resources that depend on it had not started; others may have finished (the worst case for
recovery, modelled here: all of them). The provider may have created it: it is in the live world. Every
later snapshot carries the pending create on (pkg/backend/journal.go: "we don't want to clear pending
CREATE operations"); `--clear-pending-creates` drops it, nothing else changes
(pkg/cmd/pulumi/operations/refresh.go, filterMapPendingCreates).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tests.stack.harness import Evaluation, Registered
from tests.stack.memo import freeze


@dataclass(frozen=True)
class Interrupted:
    state: Evaluation  # the checkpoint's resources, and the live world
    pending: tuple[Registered, ...]  # the creates in flight, as Check left their inputs

    def export(self, operation: str = "creating") -> dict[str, Any]:
        """`pulumi stack export` of the checkpoint (sdk/go/common/apitype/core.go: DeploymentV3, OperationV2,
        ResourceV3 and their JSON names)."""
        return {
            "version": 3,
            "deployment": {
                "manifest": {"time": "2026-12-05T00:00:00Z", "magic": "", "version": "v3.272.0"},
                "resources": [_resource_v3(r) for r in self.state.resources],
                "pending_operations": [{"resource": _pending_v3(r), "type": operation} for r in self.pending],
            },
        }

    def cleared(self) -> Evaluation:
        """After the pending creates are dropped (`pulumi stack import` of the export without them; nothing
        drifted): the checkpoint."""
        return self.state


def interrupted_while_creating(full: Evaluation, *names: str) -> Interrupted:
    """The first `up` of `full`, killed while creating `names` (at once: none waits for another) after the
    provider made them."""
    targets = [r for r in full.resources if r.name in names and r.custom]
    assert sorted(r.name for r in targets) == sorted(names), names
    never_started = set().union(*(_dependents(full, target) for target in targets))
    assert not never_started & {r.urn for r in targets}, "one of them waits for another"
    recorded = [r for r in full.resources if r.urn not in never_started | {r.urn for r in targets}]
    world = full.world.copy()
    for r in full.resources:
        if r.urn in never_started:
            world.objects.pop(r.id, None)
            world.cluster_objects.pop(f"{r.type} {r.id}", None)
    state = dataclasses.replace(full, resources=freeze(recorded), exports=freeze({}), world=world.frozen())
    return Interrupted(state, tuple(_as_checked(target) for target in targets))


def _dependents(ev: Evaluation, target: Registered) -> set[str]:
    """Every resource that waits, directly or not, for `target` (or is its child)."""
    waiting: set[str] = set()
    grew = True
    while grew:
        grew = False
        for r in ev.resources:
            if r.urn in waiting or r.urn == target.urn:
                continue
            if (ev.engine_dependencies(r) | {r.parent}) & (waiting | {target.urn}):
                waiting.add(r.urn)
                grew = True
    return waiting


def _as_checked(resource: Registered) -> Registered:
    """A role assignment's name is the GUID azure-native's Check draws and keeps in its inputs (the model
    derives it; here it is the one the world holds)."""
    if resource.type == "azure-native:authorization:RoleAssignment":
        inputs = {**resource.inputs, "roleAssignmentName": resource.outputs["name"]}
        return dataclasses.replace(resource, inputs=inputs)
    return resource


def _resource_v3(r: Registered) -> dict[str, Any]:
    return {
        "urn": r.urn,
        "custom": r.custom,
        "id": r.id,
        "type": r.type,
        "inputs": r.inputs,
        "outputs": r.outputs,
        "parent": r.parent,
        "dependencies": r.dependencies,
        "provider": r.provider,
    }


def _pending_v3(r: Registered) -> dict[str, Any]:
    """A pending create's resource: the new state the step began with, no id and no outputs yet."""
    return {k: v for k, v in _resource_v3(r).items() if k not in ("id", "outputs")}
