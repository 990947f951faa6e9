"""The helper scripts `pulumi up` runs: clear errors for missing tools, clean outputs.

They run for real under /bin/sh with fake `az`, `docker`, `kubectl` and `kubelogin`
executables on a PATH that holds nothing else.
"""

from __future__ import annotations

import base64
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.stack.harness import ROOT
from tests.test_locks import pins

SCRIPTS = ROOT / "infra" / "scripts"
DIGEST = "sha256:" + "ab" * 32
BASICS = ["sh", "cat", "mktemp", "rm", "sed", "tail", "date", "sleep", "cut", "tr", "base64", "grep"]


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


DEPLOYER = "d3b07384-d9a0-4c9b-8f1e-0a1b2c3d4e5f"
KUBELOGIN_ARGS = "get-token --login azurecli --server-id 6dae42f8-4368-4678-94ff-3960e28e3630"


def entra_token(object_id: str, upn: str) -> str:
    """An Entra access token's shape: header.claims.signature, base64url without padding."""

    def part(claims: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'aud': 'x', 'oid': object_id, 'upn': upn})}.c2ln"


def fake_kube_tools(
    bin_dir: Path, signed_in: str, can_i: str = "exit 0", kubelogin_exit: int = 0, upn: str = "dev@contoso.com"
) -> None:
    """kubectl (config view prints the kubelogin arguments; auth can-i runs `can_i`) and kubelogin."""
    fake(
        bin_dir,
        "kubectl",
        f'if [ "$3" = config ]; then echo "{KUBELOGIN_ARGS}"; exit 0; fi\n{can_i}',
    )
    credential = json.dumps({"kind": "ExecCredential", "status": {"token": entra_token(signed_in, upn)}})
    fake(
        bin_dir,
        "kubelogin",
        f'[ "$*" = "{KUBELOGIN_ARGS}" ] || exit 3\n'
        + (f"echo 'AADSTS700082: the refresh token has expired' >&2; exit {kubelogin_exit}" if kubelogin_exit else "")
        + f"\necho '{credential}'",
    )


# Claims of three lengths: base64url drops 0, 1 or 2 padding characters, which the script restores.
@pytest.mark.parametrize("upn", ["a@contoso.com", "ab@contoso.com", "abc@contoso.com"])
def test_rbac_wait_stops_at_once_when_kubelogin_signs_in_as_another_identity(
    bin_dir: Path, tmp_path: Path, upn: str
) -> None:
    """azure-native gave the role to one principal, kubelogin signs in as another: waiting cannot help."""
    other = "0f0e0d0c-0b0a-0908-0706-050403020100"
    fake_kube_tools(bin_dir, signed_in=other, can_i=f"touch {tmp_path / 'asked'}; exit 1", upn=upn)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER, "TIMEOUT_SECONDS": "600"}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 1
    first, fix = result.stderr.strip().splitlines()
    assert f"kubelogin signs in as object id {other}" in first
    assert f"role went to {DEPLOYER}" in first
    assert "kubeloginMode" in fix
    assert not (tmp_path / "asked").exists(), "no polling"
    assert "eyJ" not in result.stdout + result.stderr, "the token is never printed"


@pytest.mark.parametrize("signed_in", [0, 1], ids=["first", "second"])
def test_rbac_wait_accepts_kubelogin_signed_in_as_any_listed_deployer(bin_dir: Path, signed_in: int) -> None:
    """deployerObjectIds: the role went to each; kubelogin may be any of them (a person, or CI)."""
    ci = "0f0e0d0c-0b0a-0908-0706-050403020100"
    fake_kube_tools(bin_dir, signed_in=[DEPLOYER, ci][signed_in])
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": f"{DEPLOYER} {ci}", "FIRST_DELAY_SECONDS": "0"}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the deployer can create Jobs in namespace demo\n"


def test_rbac_wait_refuses_kubelogin_signed_in_as_none_of_the_deployers(bin_dir: Path) -> None:
    stranger, ci = "12345678-1234-1234-1234-123456789abc", "0f0e0d0c-0b0a-0908-0706-050403020100"
    fake_kube_tools(bin_dir, signed_in=stranger)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": f"{DEPLOYER} {ci}"}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 1
    assert f"kubelogin signs in as object id {stranger}, but" in result.stderr
    assert f"role went to {DEPLOYER} {ci}" in result.stderr
    assert f"add {stranger} to deployerObjectIds" in result.stderr


def test_rbac_wait_shows_why_kubelogin_cannot_sign_in(bin_dir: Path) -> None:
    fake_kube_tools(bin_dir, signed_in=DEPLOYER, kubelogin_exit=1)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 1
    assert "kubelogin could not sign in to the cluster: AADSTS700082" in result.stderr


def test_rbac_wait_says_so_when_it_cannot_tell_who_kubelogin_is_and_still_waits(bin_dir: Path) -> None:
    fake(bin_dir, "kubectl", f'if [ "$3" = config ]; then echo "{KUBELOGIN_ARGS}"; exit 0; fi\nexit 0')
    fake(bin_dir, "kubelogin", 'echo \'{"status": {"token": "opaque"}}\'')
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert (
        f"could not read which identity kubelogin signs in as; if this wait times out, check that it is {DEPLOYER}"
        in result.stderr
    )


def test_rbac_wait_polls_when_kubelogin_signs_in_as_the_deployer(bin_dir: Path) -> None:
    fake_kube_tools(bin_dir, signed_in=DEPLOYER)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER, "FIRST_DELAY_SECONDS": "0"}
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the deployer can create Jobs in namespace demo\n"
    assert result.stderr == "", "the identity was read and matched"


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
    result = run("wait-for-kubernetes-rbac.sh", bin_dir, env | {"ROLE_NAME": "Azure Kubernetes Service RBAC Admin"})
    assert result.returncode == 1
    assert "still cannot create Jobs in namespace demo: Error: forbidden" in result.stderr
    assert "Check the 'Azure Kubernetes Service RBAC Admin' assignment" in result.stderr


KIND_ENV = {
    "GROUP_VERSION": "secrets-store.csi.x-k8s.io/v1",
    "RESOURCE": "secretproviderclasses",
    "HINT": "Check the add-on.",
    "FIRST_DELAY_SECONDS": "0",
}
NOT_FOUND = "Error from server (NotFound): the server could not find the requested resource"
# GET /apis/<group>/<version>: an APIResourceList, as kubectl get --raw prints it (compact JSON).
DISCOVERY = json.dumps(
    {
        "kind": "APIResourceList",
        "groupVersion": "secrets-store.csi.x-k8s.io/v1",
        "resources": [
            {"name": "secretproviderclasses", "namespaced": True, "kind": "SecretProviderClass"},
            {"name": "secretproviderclasses/status", "namespaced": True, "kind": "SecretProviderClass"},
        ],
    },
    separators=(",", ":"),
)


def test_kind_wait_polls_discovery_until_the_add_on_serves_the_kind(bin_dir: Path, tmp_path: Path) -> None:
    count, calls = tmp_path / "count", tmp_path / "calls"
    count.write_text("0")
    fake(
        bin_dir,
        "kubectl",
        f'echo "$*" >> {calls}\nn=$(cat {count}); n=$((n+1)); echo $n > {count}\n'
        f'if [ "$n" -lt 3 ]; then echo "{NOT_FOUND}" >&2; exit 1; fi\n'
        f"echo '{DISCOVERY}'",
    )
    result = run("wait-for-api-resource.sh", bin_dir, {**KIND_ENV, "TIMEOUT_SECONDS": "60"}, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the API server serves secretproviderclasses in secrets-store.csi.x-k8s.io/v1\n"
    assert result.stderr.count("waiting: the API server still does not serve secretproviderclasses") == 2
    assert "could not find the requested resource" in result.stderr
    # Discovery only: the deployer may not read CustomResourceDefinitions.
    assert all(" get --raw /apis/secrets-store.csi.x-k8s.io/v1" in line for line in calls.read_text().splitlines())


def test_kind_wait_does_not_take_a_subresource_or_another_kind_for_it(bin_dir: Path) -> None:
    other = DISCOVERY.replace('"secretproviderclasses"', '"secretproviderclasspodstatuses"')
    fake(bin_dir, "kubectl", f"echo '{other}'")
    result = run("wait-for-api-resource.sh", bin_dir, {**KIND_ENV, "TIMEOUT_SECONDS": "0"})
    assert result.returncode == 1


def test_kind_wait_gives_up_with_the_hint(bin_dir: Path) -> None:
    fake(
        bin_dir,
        "kubectl",
        'echo "Error from server (NotFound): the server could not find the requested resource" >&2; exit 1',
    )
    result = run("wait-for-api-resource.sh", bin_dir, {**KIND_ENV, "TIMEOUT_SECONDS": "0"})
    assert result.returncode == 1
    first, hint = result.stderr.splitlines()
    assert first.startswith("error: after 0s the API server still does not serve secretproviderclasses")
    assert first.endswith("could not find the requested resource")
    assert hint == "Check the add-on."


def test_kind_wait_then_waits_until_the_deployer_may_create_the_kind(bin_dir: Path, tmp_path: Path) -> None:
    count, calls = tmp_path / "count", tmp_path / "calls"
    count.write_text("0")
    fake(
        bin_dir,
        "kubectl",
        f'echo "$*" >> {calls}\n'
        f"case \"$*\" in *'get --raw'*) echo '{DISCOVERY}'; exit 0 ;; esac\n"
        f'n=$(cat {count}); n=$((n+1)); echo $n > {count}\nif [ "$n" -lt 3 ]; then exit 1; fi\nexit 0',
    )
    env = {**KIND_ENV, "NAMESPACE": "demo", "TIMEOUT_SECONDS": "60"}
    result = run("wait-for-api-resource.sh", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "the deployer can create secretproviderclasses.secrets-store.csi.x-k8s.io in namespace demo"
    )
    assert result.stderr.count("waiting: the deployer still cannot create") == 2
    assert (
        calls.read_text()
        .splitlines()[-1]
        .endswith("auth can-i --quiet create secretproviderclasses.secrets-store.csi.x-k8s.io --namespace demo")
    )


def test_kind_wait_gives_up_on_access_naming_the_role(bin_dir: Path) -> None:
    fake(bin_dir, "kubectl", f"case \"$*\" in *'get --raw'*) echo '{DISCOVERY}'; exit 0 ;; esac\nexit 1")
    result = run("wait-for-api-resource.sh", bin_dir, {**KIND_ENV, "NAMESPACE": "demo", "TIMEOUT_SECONDS": "0"})
    assert result.returncode == 1
    assert "the deployer still cannot create secretproviderclasses" in result.stderr
    assert "Azure Kubernetes Service RBAC Admin" in result.stderr


def test_kind_wait_without_kubectl_names_it(bin_dir: Path) -> None:
    result = run("wait-for-api-resource.sh", bin_dir, KIND_ENV)
    assert result.returncode == 127
    assert "'kubectl'" in result.stderr


def test_kind_wait_with_an_entra_kubeconfig_but_no_kubelogin_names_it(bin_dir: Path) -> None:
    fake(bin_dir, "kubectl", f"echo '{DISCOVERY}'")
    exec_user = "users:\n- name: u\n  user:\n    exec:\n      command: kubelogin\n"
    result = run("wait-for-api-resource.sh", bin_dir, KIND_ENV, stdin=exec_user)
    assert result.returncode == 127
    assert "'kubelogin'" in result.stderr
    fake(bin_dir, "kubelogin", "exit 0")
    assert run("wait-for-api-resource.sh", bin_dir, KIND_ENV, stdin=exec_user).returncode == 0


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
