"""Shared fixtures: the Pulumi program evaluated under mocks, and throw-away project copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.stack.harness import ROOT, Evaluation, evaluate


@pytest.fixture(scope="module")
def dev() -> Evaluation:
    """The program with every setting at its default (what Pulumi.yaml declares)."""
    return evaluate()


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
        return evaluate(config, program=project_copy / "infra" / "__main__.py")

    return run
