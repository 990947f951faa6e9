"""Shared fixtures: the Pulumi program evaluated under mocks, and throw-away project copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.stack.harness import ROOT, Evaluation, evaluate, evaluate_stack

Deployed = Callable[[str], Evaluation]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With --dist loadgroup, the tests of one cut run in one process, which evaluates the cut once; and so do
    the other tests of one file, which share its evaluations (a test marked with a group keeps it)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "cut" in callspec.params:
            cut = callspec.params["cut"]
            # By name: every worker collects the same group (a Cut's repr holds its function's address).
            item.add_marker(pytest.mark.xdist_group(f"cut: {getattr(cut, 'name', cut)}"))
        elif item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(f"file: {item.nodeid.split('::')[0]}"))


@pytest.fixture(scope="session")
def deployed() -> Deployed:
    """The first `up` of a shipped stack, as deployable (prod's placeholder ranges replaced).
    Shared by every test through the harness's memo, read-only."""
    return evaluate_stack


@pytest.fixture(scope="session")
def dev(deployed: Deployed) -> Evaluation:
    """The dev stack as shipped (Pulumi.dev.yaml over Pulumi.yaml's defaults)."""
    return deployed("dev")


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the program and the app, to change app files without touching the repo."""
    (tmp_path / "infra").mkdir()
    shutil.copy2(ROOT / "infra" / "__main__.py", tmp_path / "infra" / "__main__.py")
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.fixture
def evaluate_copy(project_copy: Path) -> Callable[..., Evaluation]:
    def run(config: dict[str, Any] | None = None) -> Evaluation:
        return evaluate(config, program_dir=project_copy / "infra")

    return run
