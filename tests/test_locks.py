"""Every environment the project installs comes from a hash-locked file that matches its input.

Each `<name>.in` is edited by hand; `scripts/lock.sh` resolves it into `<name>.txt`. These tests
catch an input edited without relocking, a lock that pulls in another file (so it could not be
installed on its own), environments that disagree on a version, and a runtime requirement the
program never imports.
"""

from __future__ import annotations

import ast
import os
import re
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.stack.stacks import PROGRAM_DIR, ROOT

LOCKS = {
    ROOT / "requirements.in": ROOT / "requirements.txt",
    ROOT / "requirements-uv.in": ROOT / "requirements-uv.txt",
    ROOT / "requirements-dev.in": ROOT / "requirements-dev.txt",
    ROOT / "requirements-checkov.in": ROOT / "requirements-checkov.txt",
    ROOT / "app" / "requirements.in": ROOT / "app" / "requirements.txt",
    ROOT / "policy" / "requirements.in": ROOT / "policy" / "requirements.txt",
}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every requirement in a lock; each must be exact and carry hashes."""
    found: dict[str, str] = {}
    for entry in re.split(r"\n(?=\S)", lock.read_text()):
        if entry.startswith("#") or not entry.strip():
            continue
        match = PIN.match(entry)
        assert match, f"{lock.name}: not an exact pin: {entry.splitlines()[0]}"
        assert "--hash=sha256:" in entry, f"{lock.name}: {match[1]} has no hash"
        found[canonicalize_name(match[1])] = match[2]
    return found


def direct_requirements(source: Path) -> list[Requirement]:
    """The requirements an input file names, following its -r includes."""
    found: list[Requirement] = []
    for line in source.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += direct_requirements(source.parent / line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


@pytest.mark.parametrize("source", LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_input_is_locked_with_hashes_and_satisfied_by_its_lock(source: Path) -> None:
    locked = pins(LOCKS[source])
    for requirement in direct_requirements(source):
        version = locked.get(canonicalize_name(requirement.name))
        assert version, f"{requirement.name} is in {source.name} but not in its lock: run ./scripts/lock.sh"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCKS[source].name} has {requirement.name}=={version}, outside {requirement}: run ./scripts/lock.sh"
        )


@pytest.mark.parametrize("lock", LOCKS.values(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_lock_installs_on_its_own(lock: Path) -> None:
    """No -r/-c/-e lines: pip and uv read the lock alone, as the Dockerfile and the CLI do."""
    options = [line for line in lock.read_text().splitlines() if line.startswith("-")]
    assert options == []


@pytest.mark.parametrize(
    "lock",
    [
        ROOT / "requirements.txt",
        ROOT / "requirements-uv.txt",
        ROOT / "app" / "requirements.txt",
        ROOT / "policy" / "requirements.txt",
    ],
)
def test_the_test_environment_runs_the_locked_versions(lock: Path) -> None:
    """The tests import the program's and the app's packages from .venv: at their locked versions."""
    dev = pins(ROOT / "requirements-dev.txt")
    differ = {name: (version, dev.get(name)) for name, version in pins(lock).items() if dev.get(name) != version}
    # Platform-only packages (pywin32 on Windows) are absent from the Linux test lock.
    assert {name: v for name, v in differ.items() if v[1] is not None} == {}
    assert set(differ) <= {"pywin32"}


def test_every_runtime_requirement_is_imported_by_the_program() -> None:
    """An unused requirement is one more thing to lock, download and trust."""
    imported: set[str] = set()
    for path in [*PROGRAM_DIR.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    providers = packages_distributions()
    used = {canonicalize_name(dist) for module in imported for dist in providers.get(module, [])}
    unused = [r.name for r in direct_requirements(ROOT / "requirements.in") if canonicalize_name(r.name) not in used]
    assert unused == []


@pytest.mark.xdist_group("grouping probe")
@pytest.mark.skipif("PYTEST_XDIST_WORKER" not in os.environ, reason="not run by the test command's workers")
def test_the_test_command_keeps_an_xdist_group_on_one_worker(request: pytest.FixtureRequest) -> None:
    """pytest-xdist's --dist loadgroup (the test command's) sends a group to one worker by tagging each test's
    id with it; with a pytest that ignores the tag (9.x with xdist 3.8) every group is silently spread, and
    shared evaluations run once per worker."""
    assert request.node.nodeid.endswith("@grouping probe"), "the group tag is lost: xdist_group has no effect"
