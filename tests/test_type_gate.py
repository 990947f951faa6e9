"""The type gate (ty, in scripts/test.sh) catches the mistakes that matter most in this code: a misspelt
keyword argument to an azure-native or a Kubernetes resource, and a wrong type passed to a component."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack.harness import ROOT

TY = Path(sys.executable).parent / "ty"

# (what is wrong, the right line, the same line with the mistake)
MISTAKES = [
    (
        "misspelt keyword to an azure-native resource",
        'managedidentity.UserAssignedIdentity("identity", resource_group_name="rg")',
        'managedidentity.UserAssignedIdentity("identity", resource_group_nme="rg")',
    ),
    (
        "misspelt keyword to a Kubernetes resource",
        'k8s.core.v1.ServiceAccount("sa", metadata={"name": "reader"})',
        'k8s.core.v1.ServiceAccount("sa", metdata={"name": "reader"})',
    ),
    (
        "wrong type to a component's args",
        'ContainerRegistry("r", placement=PLACEMENT, registry_name="acrwiddev", sku="Basic")',
        'ContainerRegistry("r", placement="westeurope", registry_name="acrwiddev", sku="Basic")',
    ),
]

HEADER = """\
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity
from workload_id.placement import Placement
from workload_id.registry import ContainerRegistry

PLACEMENT = Placement(resource_group_name="rg", location="westeurope", tags={})
"""


def flagged_lines(tmp_path: Path, lines: list[str]) -> set[int]:
    """The line numbers ty reports an error on, checking `lines` after the imports with this project's settings."""
    program = tmp_path / "program.py"
    program.write_text(HEADER + "\n".join(lines) + "\n")
    result = subprocess.run(
        [str(TY), "check", "--output-format", "concise", "--project", str(ROOT), str(program)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return {int(n) for n in re.findall(rf"^{re.escape(str(program))}:(\d+):\d+: error", result.stdout, re.M)}


@pytest.fixture(scope="module")
def first_line() -> int:
    return HEADER.count("\n") + 1


def test_the_right_calls_pass(tmp_path: Path) -> None:
    assert flagged_lines(tmp_path, [right for _, right, _ in MISTAKES]) == set()


def test_each_mistake_is_caught_on_its_line(tmp_path: Path, first_line: int) -> None:
    flagged = flagged_lines(tmp_path, [wrong for _, _, wrong in MISTAKES])
    caught = {what for i, (what, _, _) in enumerate(MISTAKES) if first_line + i in flagged}
    assert caught == {what for what, _, _ in MISTAKES}
