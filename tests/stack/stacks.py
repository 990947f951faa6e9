"""The project and its stack files, and the configuration the Pulumi CLI hands the program."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
PROJECT: str = _PROJECT_FILE["name"]
# `main: infra/`: the CLI's program directory (pulumi/pulumi pkg/engine/project.go, getPwdMain).
PROGRAM_DIR = ROOT / _PROJECT_FILE["main"]
DECLARED: dict[str, dict[str, Any]] = _PROJECT_FILE["config"]

# Pulumi.prod.yaml ships a documentation placeholder for the deployer's egress range, which
# the program refuses; this stands in for the real range a user sets before deploying.
PLACEHOLDER_REPLACEMENTS: dict[str, dict[str, Any]] = {"prod": {"authorizedIpRanges": ["52.140.10.0/24"]}}


# Three workloads: two share a namespace (shop), two share a secret (shared-token; orders-db too), and each
# delivery mode once. Each is granted exactly its own secrets. secretDelivery: the dev stack file sets it, and a
# stack with `workloads` may not; here it is back at its default, as `pulumi config rm secretDelivery` leaves it.
THREE_WORKLOADS: dict[str, Any] = {
    "secretDelivery": "sdk",
    "secrets": [
        {"name": "orders-db"},
        {"name": "payments-key", "contentType": "text/plain", "expiryDays": 90, "rotationDays": 60},
        {"name": "shared-token"},
    ],
    "workloads": [
        {
            "name": "orders",
            "namespace": "shop",
            "serviceAccount": "orders",
            "secrets": ["orders-db", "shared-token"],
            "delivery": "sdk",
        },
        {
            "name": "payments",
            "namespace": "shop",
            "serviceAccount": "payments",
            "secrets": ["payments-key", "shared-token"],
            "delivery": "csi",
        },
        {
            "name": "reports",
            "namespace": "analytics",
            "serviceAccount": "reports",
            "secrets": ["orders-db"],
            "delivery": "both",
        },
    ],
}


def stack_names() -> list[str]:
    return sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def shipped_config(stack: str) -> dict[str, Any]:
    """The stack file's values, keys without the project prefix (arrays as lists); none for a new stack."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    values = yaml.safe_load(path.read_text())["config"] if path.exists() else {}
    return {k.removeprefix(f"{PROJECT}:"): v for k, v in values.items()}


def deployable_config(stack: str) -> dict[str, Any]:
    return shipped_config(stack) | PLACEHOLDER_REPLACEMENTS.get(stack, {})


def cli_config(values: Mapping[str, Any], secrets: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """PULUMI_CONFIG and its secret keys as the CLI builds them for the program.

    The CLI gives every declared key: a value the stack sets, else the Pulumi.yaml default
    (pulumi/pulumi pkg/workspace/config.go, mergeConfig: "if !foundOnStack && (hasValue ||
    hasDefault)"). Values travel as strings, arrays and objects as JSON.
    """
    merged = {k: spec["default"] for k, spec in DECLARED.items() if "default" in spec} | dict(values)
    config = {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}
    config |= {f"{PROJECT}:{k}": v for k, v in (secrets or {}).items()}
    return config, [f"{PROJECT}:{k}" for k in secrets or {}]
