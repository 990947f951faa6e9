"""The shipped stack files, as the tests and the manifest gate evaluate them."""

from __future__ import annotations

from typing import Any

import yaml

from tests.stack.harness import PROJECT, ROOT

# Pulumi.prod.yaml ships documentation placeholders for the deployer's egress ranges, which
# the program refuses; these stand in for the real ranges a user sets before deploying.
PLACEHOLDER_REPLACEMENTS: dict[str, dict[str, Any]] = {
    "prod": {"authorizedIpRanges": ["52.140.10.0/24"], "keyVaultAllowedIpRanges": ["52.140.10.0/24"]},
}


def stack_names() -> list[str]:
    return sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def shipped_config(stack: str) -> dict[str, Any]:
    """The stack file's values, keys without the project prefix (arrays as lists)."""
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.removeprefix(f"{PROJECT}:"): v for k, v in values.items()}


def deployable_config(stack: str) -> dict[str, Any]:
    return shipped_config(stack) | PLACEHOLDER_REPLACEMENTS.get(stack, {})
