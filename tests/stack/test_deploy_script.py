"""scripts/deploy.sh under bash, with fake prerequisites on a PATH that holds nothing else."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.tools import FAKE_ARM_AZ, bin_dir_with_basics, fake
from tests.stack.faults import Interrupted, interrupted_while_creating
from tests.stack.harness import ROOT, evaluate
from tests.test_locks import pins


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return bin_dir_with_basics(tmp_path / "bin")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What deploy.sh reads, copied: a test may add a stack file without touching the checkout."""
    copy = tmp_path / "project"
    (copy / "scripts").mkdir(parents=True)
    for script in ("deploy.sh", "recover.py"):
        shutil.copy2(ROOT / "scripts" / script, copy / "scripts")
    for path in [*ROOT.glob("Pulumi*.yaml"), ROOT / "requirements.txt"]:
        shutil.copy2(path, copy)
    return copy


def run_deploy(bin_dir: Path, args: list[str], project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """deploy.sh with a PATH of bin_dir only, and nothing else in its environment but `env`."""
    for tool in ("dirname", "sort", "head"):
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(project / "scripts" / "deploy.sh"), *args],
        env={"PATH": str(bin_dir), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


LOCKED_SDK = pins(ROOT / "requirements.txt")["pulumi"]


@pytest.fixture
def calls(bin_dir: Path, tmp_path: Path) -> Path:
    """Where the working fakes of every prerequisite record their calls (absent: none was called)."""
    path = tmp_path / "calls"
    deploy_tools(bin_dir, path)
    return path


def deploy_tools(bin_dir: Path, calls: Path, *, python: str = "3.11", pulumi: str = LOCKED_SDK) -> None:
    """Fakes of every prerequisite that work, each recording its call."""
    fake(bin_dir, "python3", f"echo {python}")
    for tool in ("kubectl", "kubelogin", "az", "docker"):
        fake(bin_dir, tool, f'echo "{tool} $*" >> {calls}; echo 27.3.1')
    fake(bin_dir, "pulumi", f'if [ "$1" = version ]; then echo v{pulumi}; else echo "pulumi $*" >> {calls}; fi')


@pytest.mark.parametrize(
    ("args", "stack", "up_args"),
    [([], "dev", []), (["--yes"], "dev", ["--yes"]), (["prod", "--diff"], "prod", ["--diff"])],
)
def test_deploy_selects_the_stack_and_passes_options_to_pulumi_up(
    project: Path, calls: Path, bin_dir: Path, args: list[str], stack: str, up_args: list[str]
) -> None:
    result = run_deploy(bin_dir, args, project)
    assert result.returncode == 0, result.stderr
    pulumi_calls = [c for c in calls.read_text().splitlines() if c.startswith("pulumi")]
    # The export: are operations pending? (test_deploy_stops_at_pending_operations_and_says_how_to_recover)
    assert pulumi_calls[2].startswith(f"pulumi stack export --stack {stack} --file ")
    assert pulumi_calls[:2] + pulumi_calls[3:] == [
        "pulumi install",
        f"pulumi stack select --create {stack}",
        " ".join(["pulumi up", "--stack", stack, "--refresh", *up_args]),
    ]


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["prod", "--help"], ["--yes", "-h"]])
def test_deploy_help_prints_usage_and_touches_nothing(
    project: Path, calls: Path, bin_dir: Path, args: list[str]
) -> None:
    result = run_deploy(bin_dir, args, project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ./scripts/deploy.sh [STACK] [--new]")
    assert not calls.exists()


def test_deploy_refuses_a_stack_without_a_stack_file(project: Path, calls: Path, bin_dir: Path) -> None:
    result = run_deploy(bin_dir, ["prdo", "--yes"], project)
    assert result.returncode == 1
    assert result.stderr == (
        "deploy.sh: there is no Pulumi.prdo.yaml (stacks here: dev prod). Check the name, or create the stack "
        "on Pulumi.yaml's defaults with: ./scripts/deploy.sh prdo --new\n"
    )
    assert not calls.exists()


@pytest.mark.parametrize("args", [["-s", "prod"], ["--stack", "prod"], ["--yes", "--stack=prod"]])
def test_deploy_refuses_a_stack_given_as_a_pulumi_option(
    project: Path, calls: Path, bin_dir: Path, args: list[str]
) -> None:
    """Passed on to pulumi up, it would contradict the stack deploy.sh selected and checked."""
    result = run_deploy(bin_dir, args, project)
    assert result.returncode == 1
    assert result.stderr.startswith("deploy.sh: name the stack as the first argument (./scripts/deploy.sh prod)")
    assert not calls.exists()


def test_deploy_refuses_new_without_a_stack_named_first(project: Path, calls: Path, bin_dir: Path) -> None:
    result = run_deploy(bin_dir, ["--new", "staging"], project)
    assert result.returncode != 0
    assert "--new creates the stack named first: ./scripts/deploy.sh <stack> --new" in result.stderr
    assert not calls.exists() or "pulumi up" not in calls.read_text()


def test_deploy_creates_a_new_stack_when_asked_to(project: Path, calls: Path, bin_dir: Path) -> None:
    result = run_deploy(bin_dir, ["staging", "--new", "--yes"], project)
    assert result.returncode == 0, result.stderr
    select, export, up = calls.read_text().splitlines()[-3:]
    assert (select, up) == ("pulumi stack select --create staging", "pulumi up --stack staging --refresh --yes")
    assert export.startswith("pulumi stack export --stack staging --file ")


def test_deploy_names_each_missing_prerequisite_with_how_to_install_it(project: Path, bin_dir: Path) -> None:
    result = run_deploy(bin_dir, [], project)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "deploy.sh: missing prerequisite python3; install: Python 3.11 or newer: https://www.python.org/downloads/ "
        "or your package manager",
        "deploy.sh: missing prerequisite pulumi; install: curl -fsSL https://get.pulumi.com | sh",
        "deploy.sh: missing prerequisite az; install: https://learn.microsoft.com/cli/azure/install-azure-cli",
        "deploy.sh: missing prerequisite kubectl; install: az aks install-cli",
        "deploy.sh: missing prerequisite kubelogin; install: az aks install-cli",
    ]


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({"python": "3.10"}, "python3 is 3.10; the program needs 3.11 or newer"),
        ({"pulumi": "3.200.0"}, f"the Pulumi CLI is 3.200.0; this project's SDK is {LOCKED_SDK}"),
    ],
)
def test_deploy_refuses_too_old_a_python_or_pulumi_cli(
    project: Path, bin_dir: Path, tmp_path: Path, versions: dict[str, str], message: str
) -> None:
    calls = tmp_path / "calls"
    deploy_tools(bin_dir, calls, **versions)
    result = run_deploy(bin_dir, [], project)
    assert result.returncode == 1
    assert result.stderr.startswith(f"deploy.sh: {message}")
    assert not calls.exists()


def test_deploy_checks_docker_only_for_the_docker_builder(project: Path, calls: Path, bin_dir: Path) -> None:
    (bin_dir / "docker").unlink()
    assert run_deploy(bin_dir, ["prod", "--new"], project).returncode == 0  # acr: no Docker needed
    (project / "Pulumi.dockertest.yaml").write_text("config:\n  aks-workload-identity-keyvault:imageBuilder: docker\n")
    missing = run_deploy(bin_dir, ["dockertest"], project)
    fake(bin_dir, "docker", "echo 20.10.7")
    old = run_deploy(bin_dir, ["dockertest"], project)
    assert "missing prerequisite docker; install: Docker Engine with buildx" in missing.stderr
    assert "Docker Engine is 20.10.7; the docker-build provider needs 23.0 or newer" in old.stderr


def test_deploy_shows_the_azure_cli_error(project: Path, calls: Path, bin_dir: Path) -> None:
    fake(bin_dir, "az", "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1")
    result = run_deploy(bin_dir, [], project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "ERROR: Please run 'az login' to setup account."
    assert "deploy.sh: the Azure CLI is not ready (its error is above): run 'az login'" in result.stderr


# --- An interrupted update: pending operations, shown and recovered.


@pytest.fixture
def interrupted(bin_dir: Path, calls: Path, tmp_path: Path) -> Interrupted:
    """dev's first up, killed while AKS created the cluster; the real python3, az answering ARM GETs."""
    state = interrupted_while_creating(evaluate(), "cluster")
    export = tmp_path / "export.json"
    export.write_text(json.dumps(state.export()))
    (tmp_path / "arm-ids").write_text("\n".join(state.state.world.objects))
    (bin_dir / "python3").unlink()
    (bin_dir / "python3").symlink_to(sys.executable)
    fake(bin_dir, "az", FAKE_ARM_AZ, interpreter=sys.executable)
    fake(
        bin_dir,
        "pulumi",
        f'case "$1 $2" in version*) echo v{LOCKED_SDK} ;; "stack export") cp {export} "$6" ;; esac\n'
        f'case "$1 $2" in "stack import") cp "$6" {tmp_path / "imported.json"} ;; esac\n'
        f'if [ "$1" = up ] && [ -n "${{UP_FAILS:-}}" ]; then exit 1; fi\n'
        f'echo "pulumi $* ADOPT=${{WORKLOAD_ID_ADOPT:-}} UPSERT=${{PULUMI_K8S_UPSERT_EXISTING_OBJECTS:-}}" >> {calls}',
    )
    return state


def state_changes(calls: Path) -> list[str]:
    """The CLI calls that would change the stack: an up, or an import of its state."""
    return [c for c in calls.read_text().splitlines() if c.startswith(("pulumi up", "pulumi stack import"))]


def test_deploy_stops_at_pending_operations_and_says_how_to_recover(
    project: Path, calls: Path, bin_dir: Path, tmp_path: Path, interrupted: Interrupted
) -> None:
    result = run_deploy(bin_dir, ["--yes"], project, ARM_IDS=str(tmp_path / "arm-ids"))
    assert result.returncode == 1
    (cluster,) = interrupted.pending
    assert f"{cluster.urn} (interrupted while creating): exists in Azure: adopted as {cluster.id}" in result.stderr
    assert "Recover, then deploy, with one command: ./scripts/deploy.sh dev --recover" in result.stderr
    assert state_changes(calls) == []


def test_deploy_recover_clears_the_pending_create_and_adopts_what_exists(
    project: Path, calls: Path, bin_dir: Path, tmp_path: Path, interrupted: Interrupted
) -> None:
    result = run_deploy(bin_dir, ["--recover", "--yes"], project, ARM_IDS=str(tmp_path / "arm-ids"))
    assert result.returncode == 0, result.stderr
    adopt = json.dumps({interrupted.pending[0].urn: interrupted.pending[0].id})
    assert "recovering 1 pending create(s)" in result.stderr
    assert "Recover, then deploy" not in result.stderr, "not told to run what it runs"
    imported, up = calls.read_text().splitlines()[-2:]
    assert imported.startswith("pulumi stack import --stack dev --file ")
    assert imported.endswith(" ADOPT= UPSERT=")
    assert up == f"pulumi up --stack dev --refresh --yes ADOPT={adopt} UPSERT="
    state = json.loads((tmp_path / "imported.json").read_text())["deployment"]
    assert state["pending_operations"] == [], "the pending create dropped, nothing else changed"
    assert state["resources"] == interrupted.export()["deployment"]["resources"]
    assert not (project / ".recover" / "dev.env").exists(), "done: nothing left to finish"


def test_a_recovery_whose_up_failed_is_finished_by_the_next_deploy(
    project: Path, calls: Path, bin_dir: Path, tmp_path: Path, interrupted: Interrupted
) -> None:
    """The state no longer holds the pending create once it is imported: the adoption must survive a failed up."""
    ids = str(tmp_path / "arm-ids")
    assert run_deploy(bin_dir, ["--recover"], project, ARM_IDS=ids, UP_FAILS="1").returncode == 1
    assert (project / ".recover" / "dev.env").is_file()
    (tmp_path / "export.json").write_text((tmp_path / "imported.json").read_text())  # what the state now is
    result = run_deploy(bin_dir, [], project, ARM_IDS=ids)
    assert result.returncode == 0, result.stderr
    assert "this up adopts what an interrupted update created" in result.stderr
    adopt = json.dumps({interrupted.pending[0].urn: interrupted.pending[0].id})
    assert calls.read_text().splitlines()[-1] == f"pulumi up --stack dev --refresh ADOPT={adopt} UPSERT="
    assert not (project / ".recover" / "dev.env").exists()


def test_deploy_waits_for_a_create_azure_is_still_running(
    project: Path, calls: Path, bin_dir: Path, tmp_path: Path, interrupted: Interrupted
) -> None:
    """AKS goes on creating the cluster after Pulumi was killed: adopting it now would update it mid-create."""
    result = run_deploy(bin_dir, ["--recover"], project, ARM_IDS=str(tmp_path / "arm-ids"), AZ_STATE="Creating")
    assert result.returncode == 1
    assert f"error: {interrupted.pending[0].id} is still Creating in Azure" in result.stderr
    assert state_changes(calls) == []


def test_deploy_does_not_guess_when_azure_cannot_be_asked(
    project: Path, calls: Path, bin_dir: Path, tmp_path: Path, interrupted: Interrupted
) -> None:
    result = run_deploy(bin_dir, ["--recover"], project, ARM_IDS=str(tmp_path / "arm-ids"), AZ_LOGIN_EXPIRED="1")
    assert result.returncode == 1
    assert f"could not tell whether {interrupted.pending[0].id} exists: AADSTS700082" in result.stderr
    assert "Sign in (az login) and run again." in result.stderr
    assert state_changes(calls) == []


def test_a_second_recovery_keeps_what_an_unfinished_first_one_had_to_adopt(
    project: Path, calls: Path, bin_dir: Path, tmp_path: Path, interrupted: Interrupted
) -> None:
    """The first recovery's up failed after its state import; then another up was interrupted too."""
    ids = str(tmp_path / "arm-ids")
    assert run_deploy(bin_dir, ["--recover"], project, ARM_IDS=ids, UP_FAILS="1").returncode == 1
    identity = interrupted_while_creating(evaluate(), "demo-identity")
    (tmp_path / "export.json").write_text(json.dumps(identity.export()))
    (tmp_path / "arm-ids").write_text("\n".join(identity.state.world.objects))
    result = run_deploy(bin_dir, ["--recover"], project, ARM_IDS=ids)
    assert result.returncode == 0, result.stderr
    adopt = {interrupted.pending[0].urn: interrupted.pending[0].id, identity.pending[0].urn: identity.pending[0].id}
    assert calls.read_text().splitlines()[-1] == f"pulumi up --stack dev --refresh ADOPT={json.dumps(adopt)} UPSERT="
