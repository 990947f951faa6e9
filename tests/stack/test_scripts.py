"""The helper scripts `pulumi up` runs: clear errors for missing tools, clean outputs.

They run for real under /bin/sh with fake `az`, `docker`, `kubectl` and `kubelogin`
executables on a PATH that holds nothing else.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.stack.harness import ROOT

SCRIPTS = ROOT / "infra" / "scripts"
DIGEST = "sha256:" + "ab" * 32
BASICS = ["sh", "cat", "mktemp", "rm", "sed", "tail", "date", "sleep"]


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH directory with only the basic tools the scripts use (no az, docker, kubectl)."""
    path = tmp_path / "bin"
    path.mkdir()
    for tool in BASICS:
        found = shutil.which(tool)
        assert found, tool
        (path / tool).symlink_to(found)
    return path


def fake(bin_dir: Path, name: str, body: str) -> None:
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def run(script: str, bin_dir: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "sh"), str(SCRIPTS / script)],
        env={"PATH": str(bin_dir), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )


SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
BUILD_ENV = {
    "REGISTRY_NAME": "acrwiddev",
    "SUBSCRIPTION_ID": SUBSCRIPTION,
    "IMAGE_REPOSITORY": "demo",
    "IMAGE_TAG": "0123abcd",
    "CONTEXT_DIR": "app",
}
TOKEN_ENV = {"REGISTRY_NAME": "acrwiddev", "SUBSCRIPTION_ID": SUBSCRIPTION}

# Like the real CLI: `az acr build` streams the run log on stdout and prints no digest;
# `az acr repository show --query digest` prints it.
FAKE_AZ = f"""printf "%s\\n" "$*" >> "$CALLS"
case "$1 $2" in
  "acr build") echo "Step 1/5 : FROM python"; echo "Run ID: ca1 was successful after 41s" ;;
  "acr repository") echo "{DIGEST}" ;;
esac"""


def test_acr_build_without_az_names_the_tool_and_the_other_builder(bin_dir: Path) -> None:
    result = run("acr-build.sh", bin_dir, BUILD_ENV)
    assert result.returncode == 127
    assert "'az'" in result.stderr
    assert "pulumi config set imageBuilder docker" in result.stderr
    assert result.stdout == ""


def test_acr_build_prints_only_the_digest_and_passes_the_right_arguments(bin_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "az-calls"
    fake(bin_dir, "az", FAKE_AZ)
    result = run("acr-build.sh", bin_dir, {**BUILD_ENV, "CALLS": str(calls)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{DIGEST}\n"
    assert "Step 1/5" in result.stderr, "the build log goes to stderr, for the user to read"
    build, show = calls.read_text().splitlines()
    assert build.split() == [
        "acr", "build", "--subscription", SUBSCRIPTION, "--registry", "acrwiddev", "--image", "demo:0123abcd",
        "--file", "app/Dockerfile", "--platform", "linux/amd64", "app",
    ]  # fmt: skip
    assert show.split() == [
        "acr", "repository", "show", "--subscription", SUBSCRIPTION, "--name", "acrwiddev",
        "--image", "demo:0123abcd", "--query", "digest", "--output", "tsv",
    ]  # fmt: skip


def test_acr_build_refused_by_the_subscription_points_to_the_docker_builder(bin_dir: Path) -> None:
    fake(bin_dir, "az", 'echo "(TasksOperationsNotAllowed) ACR Tasks requests are not permitted" >&2; exit 1')
    result = run("acr-build.sh", bin_dir, BUILD_ENV)
    assert result.returncode == 1
    assert "TasksOperationsNotAllowed" in result.stderr
    assert "pulumi config set imageBuilder docker" in result.stderr


def test_acr_build_without_a_digest_fails(bin_dir: Path) -> None:
    fake(bin_dir, "az", "echo done")
    result = run("acr-build.sh", bin_dir, BUILD_ENV)
    assert result.returncode == 1
    assert "no image digest" in result.stderr


def test_docker_builder_without_docker_names_the_tool_and_the_other_builder(bin_dir: Path) -> None:
    result = run("acr-token.sh", bin_dir, TOKEN_ENV)
    assert result.returncode == 127
    assert "'docker'" in result.stderr
    assert "pulumi config set imageBuilder acr" in result.stderr


def test_docker_builder_without_a_daemon_says_so(bin_dir: Path) -> None:
    fake(bin_dir, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    result = run("acr-token.sh", bin_dir, TOKEN_ENV)
    assert result.returncode == 1
    assert "running Docker daemon" in result.stderr
    assert "pulumi config set imageBuilder acr" in result.stderr


def test_registry_token_is_the_only_output(bin_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "az-args"
    fake(bin_dir, "docker", "exit 0")
    fake(bin_dir, "az", f'printf "%s\\n" "$@" > {calls}\necho "WARNING: use 00000000-... as user" >&2\necho eyJtoken')
    result = run("acr-token.sh", bin_dir, TOKEN_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "eyJtoken\n"
    assert calls.read_text().split() == [
        "acr", "login", "--subscription", SUBSCRIPTION, "--name", "acrwiddev",
        "--expose-token", "--output", "tsv", "--query", "accessToken",
    ]  # fmt: skip


@pytest.mark.parametrize("missing", ["kubectl", "kubelogin"])
def test_rbac_wait_without_kube_tools_names_them(bin_dir: Path, missing: str) -> None:
    for tool in {"kubectl", "kubelogin"} - {missing}:
        fake(bin_dir, tool, "exit 0")
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, {"NAMESPACE": "demo"})
    assert result.returncode == 127
    assert f"'{missing}'" in result.stderr


def test_rbac_wait_polls_until_the_grant_arrives(bin_dir: Path, tmp_path: Path) -> None:
    count = tmp_path / "count"
    count.write_text("0")
    seen, path = tmp_path / "kubeconfig-seen", tmp_path / "kubeconfig-path"
    fake(bin_dir, "kubelogin", "exit 0")
    fake(
        bin_dir,
        "kubectl",
        f'cat "$2" > {seen}\necho "$2" > {path}\nn=$(cat {count}); n=$((n+1)); echo $n > {count}\n'
        # --quiet: no output, the exit code answers; warnings on stderr must not matter.
        'echo "W1124 warning: kubelogin cache" >&2\nif [ "$n" -lt 3 ]; then exit 1; fi\nexit 0',
    )
    env = {"NAMESPACE": "demo", "TIMEOUT_SECONDS": "60", "FIRST_DELAY_SECONDS": "0"}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\nkind: Config\n")
    assert result.returncode == 0, result.stderr
    assert count.read_text().strip() == "3"
    assert result.stderr.count("waiting for Azure RBAC to propagate") == 2
    assert seen.read_text() == "apiVersion: v1\nkind: Config\n"
    assert not Path(path.read_text().strip()).exists(), "the kubeconfig copy is removed"


def test_rbac_wait_gives_up_with_a_diagnosis(bin_dir: Path) -> None:
    fake(bin_dir, "kubelogin", "exit 0")
    fake(bin_dir, "kubectl", 'echo "Error: forbidden" >&2; exit 1')
    env = {"NAMESPACE": "demo", "TIMEOUT_SECONDS": "0", "FIRST_DELAY_SECONDS": "0"}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env)
    assert result.returncode == 1
    assert "still cannot create Jobs in namespace demo: Error: forbidden" in result.stderr
    assert "Azure Kubernetes Service RBAC Writer" in result.stderr


def run_deploy(bin_dir: Path, args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    (bin_dir / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(ROOT / "scripts" / "deploy.sh"), *args],
        env={"PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "stack", "up_args"),
    [([], "dev", []), (["--yes"], "dev", ["--yes"]), (["prod", "--diff"], "prod", ["--diff"])],
)
def test_deploy_selects_the_stack_and_passes_options_to_pulumi_up(
    bin_dir: Path, tmp_path: Path, args: list[str], stack: str, up_args: list[str]
) -> None:
    calls = tmp_path / "pulumi-calls"
    for tool in ("python3", "kubectl", "kubelogin", "az"):
        fake(bin_dir, tool, "exit 0")
    fake(bin_dir, "pulumi", f'echo "$*" >> {calls}')
    result = run_deploy(bin_dir, args, str(bin_dir))
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [
        "install",
        f"stack select --create {stack}",
        " ".join(["up", "--stack", stack, *up_args]),
    ]


def test_deploy_names_missing_prerequisites(bin_dir: Path) -> None:
    result = run_deploy(bin_dir, [], str(bin_dir))
    assert result.returncode == 1
    assert "missing prerequisite(s): python3 pulumi az kubectl kubelogin" in result.stderr
