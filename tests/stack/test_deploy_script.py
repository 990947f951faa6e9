"""scripts/deploy.sh under bash, with fake prerequisites on a PATH that holds nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fakes.tools import bin_dir_with_basics, fake
from tests.stack.harness import ROOT
from tests.test_locks import pins


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return bin_dir_with_basics(tmp_path / "bin")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What deploy.sh reads, copied: a test may add a stack file without touching the checkout."""
    copy = tmp_path / "project"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "deploy.sh", copy / "scripts")
    for path in [*ROOT.glob("Pulumi*.yaml"), ROOT / "requirements.txt"]:
        shutil.copy2(path, copy)
    return copy


def run_deploy(bin_dir: Path, args: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    for tool in ("dirname", "sort", "head"):
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(project / "scripts" / "deploy.sh"), *args],
        env={"PATH": str(bin_dir)},
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
    assert [c for c in calls.read_text().splitlines() if c.startswith("pulumi")] == [
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
    assert calls.read_text().splitlines()[-2:] == [
        "pulumi stack select --create staging",
        "pulumi up --stack staging --refresh --yes",
    ]


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
