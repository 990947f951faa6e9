"""`pulumi refresh`: the state each provider's Read leaves, from the live objects.

- azure-native recomputes the inputs from what changed in Azure since the last write: it projects
  the old and the new outputs onto the input shape (read-only properties dropped), diffs the two
  projections and applies that diff to the stored inputs (pulumi/pulumi-azure-native
  provider/pkg/provider/provider.go, Read, steps 2-5; `applyDiff` adds a changed key the inputs lack).
  A value Azure sets at creation (kept from the read after the write) is no diff; one it changes
  later, such as the patch version an auto-upgrade installs, is copied into the inputs.
- pulumi-kubernetes takes the live object as the API server returns it and prunes it to the shape
  of the old inputs (pulumi-kubernetes provider/pkg/provider/provider.go, Read: `pruneLiveState`):
  a field the server omits (an empty list: `omitempty`) or writes differently (a quantity in its
  canonical form) becomes the new input, and the next `up` shows the program's form as a change.
- an object that no longer exists (a Job past its TTL) is dropped from the state.
- pulumiverse-time's Rotating drops itself once the clock is past its rotation time
  (terraform-provider-time internal/provider/resource_time_rotating.go, Read: `if now.After(rotationTimestamp)`
  ... `resp.State.RemoveResource`; pulumi-terraform-bridge pf provider_read.go turns the null state into an
  empty read, and the engine's RefreshStep deletes it from the state). Nothing else notices time passing: a
  plain `up` diffs inputs only, so the rotation needs the refresh.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from tests.stack.azure_model import TIME_ROTATING, prune
from tests.stack.harness import Evaluation, Registered
from tests.stack.memo import freeze

# Properties AKS computes and the API marks read-only: never part of the input projection.
READ_ONLY = {"currentKubernetesVersion", "currentOrchestratorVersion"}

Drift = Callable[[Registered], dict[str, Any] | None]


def _project(outputs: Any) -> Any:
    if isinstance(outputs, dict):
        return {k: _project(v) for k, v in outputs.items() if k not in READ_ONLY}
    if isinstance(outputs, list):
        return [_project(v) for v in outputs]
    return outputs


def _apply_diff(inputs: Any, old: Any, new: Any) -> Any:
    if old == new:
        return inputs
    if isinstance(old, dict) and isinstance(new, dict):
        result = dict(inputs) if isinstance(inputs, dict) else {}
        for key in {*old, *new}:
            if old.get(key) != new.get(key):
                result[key] = _apply_diff(result.get(key), old.get(key), new.get(key))
        return result
    if isinstance(old, list) and isinstance(new, list) and isinstance(inputs, list) and len(old) == len(new):
        return [_apply_diff(i, o, n) for i, o, n in zip(inputs, old, new, strict=False)]
    return new


def azure_read(inputs: dict[str, Any], old_outputs: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    return _apply_diff(inputs, _project(old_outputs), _project(live))


def refreshed(
    prior: Evaluation, *, drift: Drift = lambda _: None, gone: Iterable[str] = (), later: timedelta = timedelta()
) -> Evaluation:
    """The state after `pulumi refresh`, `later` after the last `up`: `drift` gives a resource's live Azure
    outputs when they changed; resources named in `gone` no longer exist."""
    world = prior.world.copy(later)
    resources: list[Registered] = []
    for resource in prior.resources:
        if resource.name in set(gone) or _rotation_due(resource, world.now):
            if resource.name in set(gone):  # gone from Azure or the cluster too
                world.objects.pop(resource.id, None)
                world.cluster_objects.pop(f"{resource.type} {resource.id}", None)
            continue
        if resource.type.startswith("kubernetes:") and resource.custom:
            inputs = prune(resource.outputs, resource.inputs)  # the outputs are the object as the server holds it
            resources.append(dataclasses.replace(resource, inputs=inputs, raw_inputs=inputs))
        elif resource.type.startswith("azure-native:") and (live := drift(resource)) is not None:
            inputs = azure_read(resource.inputs, resource.outputs, live)
            world.objects[resource.id] = {"id": resource.id, **live}
            resources.append(
                dataclasses.replace(resource, inputs=inputs, raw_inputs=inputs, outputs=live, raw_outputs=live)
            )
        else:
            resources.append(resource)
    return dataclasses.replace(prior, resources=freeze(resources), world=world.frozen())


def _rotation_due(resource: Registered, now: datetime) -> bool:
    if resource.type != TIME_ROTATING:
        return False
    due = datetime.fromisoformat(resource.outputs["rotationRfc3339"].replace("Z", "+00:00"))
    return now > due


def aks_patch_upgrade(resource: Registered, patch: str = "1.34.3") -> dict[str, Any] | None:
    """The 'patch' upgrade channel moves the cluster to a new patch. A version given as a minor alias
    reads back as given; one left to AKS reads back as the patch now running."""
    if resource.type != "azure-native:containerservice:ManagedCluster":
        return None
    outputs = resource.outputs
    running = outputs["currentKubernetesVersion"]

    def upgraded(version: str) -> str:
        return patch if version == running else version

    return outputs | {
        "kubernetesVersion": upgraded(outputs["kubernetesVersion"]),
        "currentKubernetesVersion": patch,
        "agentPoolProfiles": [
            pool | {"orchestratorVersion": upgraded(pool["orchestratorVersion"]), "currentOrchestratorVersion": patch}
            for pool in outputs["agentPoolProfiles"]
        ],
    }
