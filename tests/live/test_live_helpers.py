"""The live test's pure parts, offline: when it runs, the names it makes, the log it reads, what it cleans up."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.live.lifecycle import (
    PROJECT,
    REQUIRED_TOOLS,
    find_leftovers,
    name_prefix,
    parse_ok_line,
    skip_reason,
    stack_file_from,
    stack_name,
)
from tests.stack.harness import ROOT
from workload_id.config import MAX_NAME_PREFIX_LENGTH


def present(tool: str) -> str:
    return f"/usr/bin/{tool}"


@pytest.mark.parametrize(
    ("env", "which", "logged_in", "reason"),
    [
        ({}, present, True, "set LIVE_AZURE_TESTS=1"),
        ({"LIVE_AZURE_TESTS": "yes"}, present, True, "set LIVE_AZURE_TESTS=1"),
        ({"LIVE_AZURE_TESTS": "1"}, lambda tool: None if tool == "kubelogin" else present(tool), True, "kubelogin"),
        ({"LIVE_AZURE_TESTS": "1"}, present, False, "not logged in"),
    ],
)
def test_the_live_test_says_why_it_is_skipped(
    env: dict[str, str], which: Callable[[str], str | None], logged_in: bool, reason: str
) -> None:
    found = skip_reason(env, which, lambda: logged_in)
    assert found is not None
    assert reason in found


def test_the_live_test_runs_when_asked_and_equipped() -> None:
    assert skip_reason({"LIVE_AZURE_TESTS": "1"}, present, lambda: True) is None
    assert set(REQUIRED_TOOLS) == {"pulumi", "az", "kubectl", "kubelogin"}


def test_a_ci_run_names_its_stack_after_itself() -> None:
    assert stack_name("gh1234567890") == "live-gh1234567890"
    assert stack_name("GH_12.34") == "live-gh1234"


def test_the_stack_file_keeps_devs_plain_settings_and_drops_another_passphrases(tmp_path: Path) -> None:
    dev = tmp_path / "Pulumi.dev.yaml"
    dev.write_text(
        "encryptionsalt: v1:abc:v1:def:ghi\n"
        "config:\n"
        f"  {PROJECT}:location: japaneast\n"
        f"  {PROJECT}:secretValue:\n"
        "    secure: v1:xyz\n"
    )
    written = yaml.safe_load(stack_file_from(dev))
    assert written == {"config": {f"{PROJECT}:location": "japaneast"}}


def test_names_are_unique_recognisable_and_valid() -> None:
    assert stack_name() != stack_name()
    assert re.fullmatch(r"live-[a-z0-9]{8}", stack_name())
    prefix = name_prefix()
    assert re.fullmatch(r"[a-z][a-z0-9]+", prefix)
    assert 2 <= len(prefix) <= MAX_NAME_PREFIX_LENGTH


def test_the_ok_line_is_read_from_the_jobs_log() -> None:
    log = (
        "read_secret: retry: attempt 1 failed (forbidden, HTTP 403 ForbiddenByRbac); attempt 2 in 2.00s\n"
        "OK secret=demo-secret version=3f0c vault=https://kv-l1-live-abc.vault.azure.net/ client_id=1d6b "
        "fingerprint=9f86d081884c\n"
    )
    ok = parse_ok_line(log)
    assert ok is not None
    assert (ok.secret, ok.client_id, ok.fingerprint) == ("demo-secret", "1d6b", "9f86d081884c")
    assert parse_ok_line("read_secret: FAILED (exit 5, forbidden): ...") is None
    assert parse_ok_line(log + log) is None  # two runs in one log: ambiguous


def test_only_live_runs_leftovers_are_found() -> None:
    ours = {"project": PROJECT, "stack": "live-ab12cd34"}
    groups = [
        {"name": "rg-lx-live-ab12cd34", "tags": ours},
        {"name": "rg-wid-dev", "tags": {"project": PROJECT, "stack": "dev"}},
        {"name": "someone-else", "tags": None},
    ]
    vaults = [
        {"name": "kv-lx-live-1", "properties": {"location": "japaneast", "tags": ours}},
        {"name": "kv-p-live-2", "properties": {"location": "japaneast", "tags": ours, "purgeProtectionEnabled": True}},
        {"name": "kv-wid-dev-3", "properties": {"location": "japaneast", "tags": {"project": PROJECT, "stack": "dev"}}},
    ]
    found = find_leftovers(groups, vaults)
    assert found.resource_groups == ["rg-lx-live-ab12cd34"]
    assert found.deleted_vaults == [("kv-lx-live-1", "japaneast", False), ("kv-p-live-2", "japaneast", True)]
    other_run = {"project": PROJECT, "stack": "live-gh99"}
    groups.append({"name": "rg-ly-live-gh99", "tags": other_run})
    vaults.append({"name": "kv-ly-live-4", "properties": {"location": "japaneast", "tags": other_run}})
    only_mine = find_leftovers(groups, vaults).of_stack("live-gh99")
    assert only_mine.resource_groups == ["rg-ly-live-gh99"]
    assert only_mine.deleted_vaults == [("kv-ly-live-4", "japaneast", False)]


def test_leftovers_without_the_azure_cli_says_so_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.live.leftovers"],
        env={"PATH": str(tmp_path)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "leftovers: the Azure CLI ('az') is needed to list the live runs' leftovers; install it and az login\n"
    )
