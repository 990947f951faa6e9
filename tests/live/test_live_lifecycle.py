"""The whole lifecycle against a real subscription, through the Automation API: opt-in (LIVE_AZURE_TESTS=1).

A throwaway stack of this project (a clean copy of it, state in a temporary file:// backend, a generated
passphrase, dev's config with a unique name prefix): `up`, the Job's OK line read through the Kubernetes
API, a second `up` previewed as no change, an in-place change previewed as that resource alone, then
`destroy`, and the resource group gone and the vault soft-deleted (purged). Teardown always runs; what a
killed run leaves behind, `python -m tests.live.leftovers --delete` removes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from tests.live.leftovers import az
from tests.live.lifecycle import PROJECT, RUN_ID, name_prefix, parse_ok_line, skip_reason, stack_file_from, stack_name
from tests.test_install import clean_checkout


def _az_logged_in() -> bool:
    shown = subprocess.run(["az", "account", "show", "--output", "none"], capture_output=True, check=False)
    return shown.returncode == 0


REASON = skip_reason(os.environ, shutil.which, _az_logged_in)
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
    pytest.mark.timeout(5400),  # the cluster, the Job's wait and the deletion: well under 90 minutes
]


@pytest.fixture
def live_stack(tmp_path: Path) -> Iterator[auto.Stack]:
    project = clean_checkout(tmp_path / "project")
    state = tmp_path / "state"
    state.mkdir()
    name = stack_name(os.environ.get(RUN_ID))
    (project / f"Pulumi.{name}.yaml").write_text(stack_file_from(project / "Pulumi.dev.yaml"))
    # PULUMI_BACKEND_URL overrides Pulumi.yaml's backend (pulumi/pulumi pkg/workspace/creds.go).
    env = {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)}
    options = auto.LocalWorkspaceOptions(env_vars=env, work_dir=str(project))
    stack = auto.create_stack(name, work_dir=str(project), opts=options)
    stack.set_config(f"{PROJECT}:namePrefix", auto.ConfigValue(name_prefix()))
    try:
        yield stack
    finally:  # also on failure, timeout and Ctrl-C; a second destroy after the test's own changes nothing
        try:
            stack.destroy(on_output=print)
        except auto.CommandError:
            # An interrupted operation can leave the file backend's lock behind: drop it and try once more.
            shutil.rmtree(state / ".pulumi" / "locks", ignore_errors=True)
            stack.destroy(on_output=print)  # if this fails too: python -m tests.live.leftovers --delete
        stack.workspace.remove_stack(name)


def job_log(outputs: dict[str, Any], tmp_path: Path, job: str) -> str:
    """A Job's log through the Kubernetes API, with the stack's own (kubelogin) kubeconfig; never printed."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(outputs["kubeconfig"])
    where = ["--namespace", outputs["jobNamespace"], f"job/{job}"]
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "logs", *where],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def az_json(*args: str) -> object:
    return json.loads(az(*args))


def test_up_preview_change_and_destroy_on_azure(live_stack: auto.Stack, tmp_path: Path) -> None:
    up = live_stack.up(on_output=print)
    assert up.summary.result == "succeeded"
    outputs = {key: value.value for key, value in up.outputs.items()}

    sdk_job, file_job = outputs["jobNames"]  # dev reads both ways
    ok = parse_ok_line(job_log(outputs, tmp_path, sdk_job))
    assert ok is not None, "the Job's log has no OK line"
    assert ok.secret == outputs["secretName"]
    assert ok.client_id == outputs["workloadIdentityClientId"]
    # The CSI driver mounted the same value: the file Job's fingerprint is the SDK Job's.
    assert f"OK file=/mnt/secrets-store/{outputs['secretName']} fingerprint={ok.fingerprint}" in job_log(
        outputs, tmp_path, file_job
    )

    live_stack.preview(expect_no_changes=True, refresh=True, on_output=print)  # a second `up` is a no-op

    live_stack.set_config(f"{PROJECT}:nodeCount", auto.ConfigValue("2"))
    changed = live_stack.preview(on_output=print)
    assert changed.change_summary.get(auto.OpType.UPDATE) == 1, changed.change_summary
    live_stack.set_config(f"{PROJECT}:nodeCount", auto.ConfigValue("1"))

    vault = outputs["keyVaultUri"].split("//")[1].split(".")[0]
    live_stack.destroy(on_output=print)
    assert az_json("group", "exists", "--name", outputs["resourceGroupName"]) is False
    deleted = az_json("keyvault", "list-deleted", "--resource-type", "vault", "--query", f"[?name=='{vault}']")
    assert isinstance(deleted, list)
    assert len(deleted) == 1, "the vault is soft-deleted, not gone"
    subprocess.run(["az", "keyvault", "purge", "--name", vault], check=True)  # dev: no purge protection
