"""A stack's state as a file: what an `up` of an earlier version of the program left, to show what an `up`
of this version does to a stack that users already run."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

from tests.stack.azure_model import World
from tests.stack.engine import COMPLETE, JOB
from tests.stack.harness import Evaluation, Registered
from tests.stack.memo import freeze

STATES = Path(__file__).parent / "states"


def save(ev: Evaluation, path: Path) -> None:
    state = {
        "resources": [dataclasses.asdict(r) for r in ev.resources],
        "exports": ev.exports,
        "world": {"objects": ev.world.objects, "now": ev.world.now.isoformat()},
    }
    path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def load(path: Path) -> Evaluation:
    state = json.loads(path.read_text())
    fields = {f.name for f in dataclasses.fields(Registered)}
    return Evaluation(
        resources=freeze([Registered(**{k: v for k, v in r.items() if k in fields}) for r in state["resources"]]),
        invokes=freeze([]),
        exports=freeze(state["exports"]),
        secret_exports=frozenset({"kubeconfig"}),
        unknown_exports=frozenset(),
        world=World(
            freeze(state["world"]["objects"]),
            datetime.fromisoformat(state["world"]["now"]),
            cluster_objects=freeze(_cluster_objects(state["resources"])),
        ),
        preview=False,
    )


def _cluster_objects(resources: list[dict]) -> dict[str, dict]:
    """The Kubernetes objects the recorded `up` left in the cluster: each one its state holds, a Job
    completed (pulumi-kubernetes awaited it)."""
    return {
        f"{r['type']} {r['id']}": {**r["outputs"], **({"status": COMPLETE} if r["type"] == JOB else {})}
        for r in resources
        if r["type"].startswith("kubernetes:") and r["custom"]
    }
