"""The front door and the docs tell the truth: the README fits on a few screens, the configuration reference is
Pulumi.yaml's, and every link, path and stack output they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.gates import config_reference
from tests.stack.harness import Evaluation
from tests.stack.stacks import ROOT

PAGES = [ROOT / "README.md", ROOT / "app" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Backticked paths into the repository; placeholders (<stack>) and globs are not paths.
PATH = re.compile(r"`(?:\./)?((?:scripts|infra|tests|app|policy|docs|\.github|\.ci)/[\w./-]*)")
OUTPUT = re.compile(r"pulumi stack output (?:--json )?([A-Za-z]+)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in page.read_text().splitlines() if line.startswith("#")}


def test_the_readme_fits_in_300_lines() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_the_configuration_reference_is_pulumi_yamls() -> None:
    assert config_reference.current() == config_reference.reference(), (
        "docs/configuration.md differs from Pulumi.yaml: python -m tests.gates.config_reference --write"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        assert resolved.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: {target} (no such heading)"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_named_exists(page: Path) -> None:
    for path in PATH.findall(page.read_text()):
        assert (ROOT / path.rstrip(".")).exists(), f"{page.name}: {path}"


def test_every_stack_output_named_is_exported(dev: Evaluation) -> None:
    for page in PAGES:
        for name in OUTPUT.findall(page.read_text()):
            assert name in dev.exports, f"{page.name}: pulumi stack output {name}"
