"""The CI workflows: pinned actions, least permissions, the README's test command, and teardown that always runs.

GitHub's schema is checked by the test command's gate (check-jsonschema); these are the project's own rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stack.stacks import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    return {("on" if key is True else key): value for key, value in yaml.safe_load(path.read_text()).items()}


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it(path: Path) -> None:
    uses = [step["uses"] for step in steps(load(path)) if "uses" in step]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []
    text = path.read_text()
    assert all(re.search(re.escape(u) + r" # v\d+\.\d+\.\d+", text) for u in uses)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_the_least_each_job_needs(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "none at the workflow level: a job asks for its own"
    for job in workflow["jobs"].values():
        oidc = any("azure/login" in step.get("uses", "") for step in job["steps"])
        expected = {"contents": "read", "id-token": "write"} if oidc else {"contents": "read"}
        assert job["permissions"] == expected


def test_ci_runs_the_readme_test_command() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "test.yml")
    assert {"run": "./scripts/test.sh"} in steps(workflow)
    assert "./scripts/test.sh" in (ROOT / "README.md").read_text()


def test_the_preview_runs_the_policy_pack_with_oidc_and_no_stored_azure_secret() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "preview.yml")
    env = workflow["jobs"]["preview"]["env"]
    assert env["ARM_USE_OIDC"] == "true"
    assert "ARM_CLIENT_SECRET" not in env
    assert any("--policy-pack policy" in step.get("run", "") for step in steps(workflow))


def test_the_live_run_always_removes_its_leftovers() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "live.yml")
    last = steps(workflow)[-1]
    assert last == {
        "if": "always()",
        "run": '.venv/bin/python -m tests.live.leftovers --delete --stack "live-$LIVE_RUN_ID"',
    }
    assert "LIVE_AZURE_TESTS" in workflow["jobs"]["lifecycle"]["env"]
