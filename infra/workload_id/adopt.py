"""Resources an interrupted `up` created but never recorded, adopted by the next `up` instead of created again.

Killed during a create (Ctrl-C, a CI timeout, a laptop asleep), Pulumi keeps a *pending create*: the resource
may exist in Azure while the state does not hold it, and a second create of it fails ("cannot create already
existing resource", azure-native provider.go). `scripts/recover.py` finds the pending creates that exist, and
the recovery (docs/troubleshooting.md, "Faults and recovery") runs the next `up` with WORKLOAD_ID_ADOPT set to
{urn: id}. Each such resource is then declared with `import`: the engine reads it into the state and updates
it to the program's inputs like any change, and refuses to replace it (pulumi/pulumi
pkg/resource/deploy/step_generator.go: isImport, continueStepsFromImport, "previously-imported resources that
still specify an ID may not be replaced"). An instruction for one run, not a setting of the stack: once
adopted, the same `import` is a no-op. (A Kubernetes object needs no id: that `up` also sets
PULUMI_K8S_UPSERT_EXISTING_OBJECTS, and the provider applies the object over the one that exists.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import pulumi

ENV = "WORKLOAD_ID_ADOPT"
FIX = "unset it, or set it to what scripts/recover.py prints"


def _type_and_name(urn: str) -> tuple[str, str, str]:
    """(stack, type, name) of urn:pulumi:<stack>::<project>::<parent types$type>::<name>."""
    head, _project, types, *name = urn.split("::")
    return head.removeprefix("urn:pulumi:"), types.split("$")[-1], "::".join(name)


def requested(stack: str) -> dict[tuple[str, str], str]:
    """(type, name) -> id from WORKLOAD_ID_ADOPT; a bad value stops the run before any resource."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return {}
    try:
        given = json.loads(text)
    except ValueError as err:
        raise pulumi.RunError(f"{ENV} is not JSON ({err}). Fix: {FIX}") from err
    if not isinstance(given, dict) or not all(isinstance(v, str) and v for v in given.values()):
        raise pulumi.RunError(f"{ENV} must be an object of URN to id. Fix: {FIX}")
    adopt: dict[tuple[str, str], str] = {}
    for urn, rid in given.items():
        urn_stack, typ, name = _type_and_name(str(urn))
        if urn_stack != stack:
            raise pulumi.RunError(f"{ENV} names {urn}, of stack '{urn_stack}', not '{stack}': unset it ({ENV}=)")
        adopt[(typ, name)] = rid
    return adopt


def register(adopt: Mapping[tuple[str, str], str]) -> None:
    """Declare each resource named in `adopt` with `import` (call before any resource is declared)."""
    if not adopt:
        return

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        rid = adopt.get((args.type_, args.name))
        if rid is None:
            return None
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(import_=rid))
        )

    pulumi.runtime.register_stack_transformation(transformation)
