"""Render the Kubernetes objects each stack declares to manifests, for schema validation and scanning.

Usage: python -m tests.gates.render OUT_DIR
Writes OUT_DIR/<stack>/<kind>-<name>.yaml for every stack file (Pulumi.<stack>.yaml), evaluated
under the same mocks as the tests, plus OUT_DIR/<stack>/KUBERNETES_VERSION, the minor version
to validate against (the stack's kubernetesVersion, or AKS's default at the time of writing).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from tests.stack.harness import Evaluation, evaluate
from tests.stack.stacks import deployable_config, stack_names

# AKS's default minor version when a stack does not pin one (az aks get-versions, 2026-11).
AKS_DEFAULT_KUBERNETES_VERSION = "1.34"
MANAGED_NAMESPACE = "azure-native:containerservice:ManagedNamespace"


def _integral(value: Any) -> Any:
    """Pulumi's wire format carries numbers as doubles; Kubernetes wants integers where integral."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def manifests(ev: Evaluation) -> list[dict[str, Any]]:
    """The objects as the API server will receive them (wire names, secrets unwrapped)."""
    rendered: list[dict[str, Any]] = []
    for resource in ev.resources:
        if resource.type == MANAGED_NAMESPACE:
            # AKS creates this Namespace from the ARM resource; validate what it will hold.
            rendered.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": resource.inputs["managedNamespaceName"],
                        "labels": resource.inputs["properties"]["labels"],
                    },
                }
            )
        elif resource.type.startswith("kubernetes:") and resource.custom:
            rendered.append(_integral(resource.inputs))
    return rendered


def render(out_dir: Path) -> list[Path]:
    written: list[Path] = []
    for stack in stack_names():
        config = deployable_config(stack)
        ev = evaluate(config, stack=stack)
        target = out_dir / stack
        target.mkdir(parents=True, exist_ok=True)
        version = str(config.get("kubernetesVersion") or AKS_DEFAULT_KUBERNETES_VERSION)
        (target / "KUBERNETES_VERSION").write_text(".".join(version.split(".")[:2]) + ".0\n")
        for manifest in manifests(ev):
            path = target / f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(manifest, sort_keys=False))
            written.append(path)
    return written


if __name__ == "__main__":
    paths = render(Path(sys.argv[1]))
    print(f"{len(paths)} manifests in {sys.argv[1]}: {', '.join(sorted({p.parent.name for p in paths}))}")
