"""The steps `pulumi up` runs (infra/steps/): clear errors for missing tools, clean outputs.

They run for real, as pulumi-command runs them (`<python> steps/<step>.py <mode>`), with fake `az`,
`docker`, `kubectl` and `kubelogin` executables on a PATH that holds nothing else.
"""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.tools import bin_dir_with_basics, fake
from tests.stack import constants as t
from tests.stack.harness import PROGRAM_DIR, ROOT, evaluate
from tests.stack.state_file import STATES, load
from workload_id import paths

STEPS = ROOT / "infra" / "steps"
MODES = {"acr_build": "build", "acr_token": "token", "rbac_ready": "wait", "kind_ready": "wait"}
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return bin_dir_with_basics(tmp_path / "bin")


def run(
    step: str, bin_dir: Path, env: dict[str, str], stdin: str = "", mode: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(STEPS / f"{step}.py"), mode or MODES[step]],
        env={"PATH": str(bin_dir), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT / "infra",
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
    result = run("acr_build", bin_dir, BUILD_ENV)
    assert result.returncode == 127
    assert "'az'" in result.stderr
    assert "pulumi config set imageBuilder docker" in result.stderr
    assert result.stdout == ""


def test_acr_build_prints_only_the_digest_and_passes_the_right_arguments(bin_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "az-calls"
    fake(bin_dir, "az", FAKE_AZ)
    result = run("acr_build", bin_dir, {**BUILD_ENV, "CALLS": str(calls)})
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
    result = run("acr_build", bin_dir, BUILD_ENV)
    assert result.returncode == 1
    assert "TasksOperationsNotAllowed" in result.stderr
    assert "pulumi config set imageBuilder docker" in result.stderr


def test_acr_build_without_a_digest_fails(bin_dir: Path) -> None:
    fake(bin_dir, "az", "echo done")
    result = run("acr_build", bin_dir, BUILD_ENV)
    assert result.returncode == 1
    assert "no image digest" in result.stderr


def test_docker_builder_without_docker_names_the_tool_and_the_other_builder(bin_dir: Path) -> None:
    result = run("acr_token", bin_dir, TOKEN_ENV)
    assert result.returncode == 127
    assert "'docker'" in result.stderr
    assert "pulumi config set imageBuilder acr" in result.stderr


def test_docker_builder_without_a_daemon_says_so(bin_dir: Path) -> None:
    fake(bin_dir, "docker", 'echo "Cannot connect to the Docker daemon" >&2; exit 1')
    result = run("acr_token", bin_dir, TOKEN_ENV)
    assert result.returncode == 1
    assert "running Docker daemon" in result.stderr
    assert "pulumi config set imageBuilder acr" in result.stderr


def test_registry_token_is_the_only_output(bin_dir: Path, tmp_path: Path) -> None:
    calls = tmp_path / "az-args"
    fake(bin_dir, "docker", "exit 0")
    fake(bin_dir, "az", f'printf "%s\\n" "$@" > {calls}\necho "WARNING: use 00000000-... as user" >&2\necho eyJtoken')
    result = run("acr_token", bin_dir, TOKEN_ENV)
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
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\n")
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
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the deployer can create Jobs in namespace demo\n"


def test_rbac_wait_refuses_kubelogin_signed_in_as_none_of_the_deployers(bin_dir: Path) -> None:
    stranger, ci = "12345678-1234-1234-1234-123456789abc", "0f0e0d0c-0b0a-0908-0706-050403020100"
    fake_kube_tools(bin_dir, signed_in=stranger)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": f"{DEPLOYER} {ci}"}
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 1
    assert f"kubelogin signs in as object id {stranger}, but" in result.stderr
    assert f"role went to {DEPLOYER} {ci}" in result.stderr
    assert f"add {stranger} to deployerObjectIds" in result.stderr


def test_rbac_wait_shows_why_kubelogin_cannot_sign_in(bin_dir: Path) -> None:
    fake_kube_tools(bin_dir, signed_in=DEPLOYER, kubelogin_exit=1)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER}
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 1
    assert "kubelogin could not sign in to the cluster: AADSTS700082" in result.stderr


def test_rbac_wait_says_so_when_it_cannot_tell_who_kubelogin_is_and_still_waits(bin_dir: Path) -> None:
    fake(bin_dir, "kubectl", f'if [ "$3" = config ]; then echo "{KUBELOGIN_ARGS}"; exit 0; fi\nexit 0')
    fake(bin_dir, "kubelogin", 'echo \'{"status": {"token": "opaque"}}\'')
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER}
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert (
        f"could not read which identity kubelogin signs in as; if this wait times out, check that it is {DEPLOYER}"
        in result.stderr
    )


def test_rbac_wait_polls_when_kubelogin_signs_in_as_the_deployer(bin_dir: Path) -> None:
    fake_kube_tools(bin_dir, signed_in=DEPLOYER)
    env = {"NAMESPACE": "demo", "DEPLOYER_OBJECT_ID": DEPLOYER, "FIRST_DELAY_SECONDS": "0"}
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the deployer can create Jobs in namespace demo\n"
    assert result.stderr == "", "the identity was read and matched"


@pytest.mark.parametrize("missing", ["kubectl", "kubelogin"])
def test_rbac_wait_without_kube_tools_names_them(bin_dir: Path, missing: str) -> None:
    for tool in {"kubectl", "kubelogin"} - {missing}:
        fake(bin_dir, tool, "exit 0")
    result = run("rbac_ready", bin_dir, {"NAMESPACE": "demo"})
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
    result = run("rbac_ready", bin_dir, env, stdin="apiVersion: v1\nkind: Config\n")
    assert result.returncode == 0, result.stderr
    assert count.read_text().strip() == "3"
    assert result.stderr.count("waiting for Azure RBAC to propagate") == 2
    assert seen.read_text() == "apiVersion: v1\nkind: Config\n"
    assert not Path(path.read_text().strip()).exists(), "the kubeconfig copy is removed"


def test_rbac_wait_gives_up_with_a_diagnosis(bin_dir: Path) -> None:
    fake(bin_dir, "kubelogin", "exit 0")
    fake(bin_dir, "kubectl", 'echo "Error: forbidden" >&2; exit 1')
    env = {"NAMESPACE": "demo", "TIMEOUT_SECONDS": "0", "FIRST_DELAY_SECONDS": "0"}
    result = run("rbac_ready", bin_dir, env | {"ROLE_NAME": "Azure Kubernetes Service RBAC Admin"})
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
    result = run("kind_ready", bin_dir, {**KIND_ENV, "TIMEOUT_SECONDS": "60"}, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the API server serves secretproviderclasses in secrets-store.csi.x-k8s.io/v1\n"
    assert result.stderr.count("waiting: the API server still does not serve secretproviderclasses") == 2
    assert "could not find the requested resource" in result.stderr
    # Discovery only: the deployer may not read CustomResourceDefinitions.
    assert all(" get --raw /apis/secrets-store.csi.x-k8s.io/v1" in line for line in calls.read_text().splitlines())


def test_kind_wait_does_not_take_a_subresource_or_another_kind_for_it(bin_dir: Path) -> None:
    other = DISCOVERY.replace('"secretproviderclasses"', '"secretproviderclasspodstatuses"')
    fake(bin_dir, "kubectl", f"echo '{other}'")
    result = run("kind_ready", bin_dir, {**KIND_ENV, "TIMEOUT_SECONDS": "0"})
    assert result.returncode == 1


def test_kind_wait_gives_up_with_the_hint(bin_dir: Path) -> None:
    fake(
        bin_dir,
        "kubectl",
        'echo "Error from server (NotFound): the server could not find the requested resource" >&2; exit 1',
    )
    result = run("kind_ready", bin_dir, {**KIND_ENV, "TIMEOUT_SECONDS": "0"})
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
    result = run("kind_ready", bin_dir, env, stdin="apiVersion: v1\n")
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
    result = run("kind_ready", bin_dir, {**KIND_ENV, "NAMESPACE": "demo", "TIMEOUT_SECONDS": "0"})
    assert result.returncode == 1
    assert "the deployer still cannot create secretproviderclasses" in result.stderr
    assert "Azure Kubernetes Service RBAC Admin" in result.stderr


def test_kind_wait_without_kubectl_names_it(bin_dir: Path) -> None:
    result = run("kind_ready", bin_dir, KIND_ENV)
    assert result.returncode == 127
    assert "'kubectl'" in result.stderr


def test_kind_wait_with_an_entra_kubeconfig_but_no_kubelogin_names_it(bin_dir: Path) -> None:
    fake(bin_dir, "kubectl", f"echo '{DISCOVERY}'")
    exec_user = "users:\n- name: u\n  user:\n    exec:\n      command: kubelogin\n"
    result = run("kind_ready", bin_dir, KIND_ENV, stdin=exec_user)
    assert result.returncode == 127
    assert "'kubelogin'" in result.stderr
    fake(bin_dir, "kubelogin", "exit 0")
    assert run("kind_ready", bin_dir, KIND_ENV, stdin=exec_user).returncode == 0


# --- No shell: what Windows without WSL needs (pulumi-command runs `cmd /C` there without an interpreter).

PYTHON_FAKES = {
    # az: `acr build` logs, `acr repository show` prints the digest, `acr login` the token.
    "az": f"""import sys
args = sys.argv[1:3]
if args == ["acr", "build"]:
    print("Run ID: ca1 was successful after 41s")
elif args == ["acr", "repository"]:
    print("{DIGEST}")
elif args == ["acr", "login"]:
    print("eyJ0eXAi.registry-token")""",
    "docker": "pass",
    "kubelogin": "pass",
    # kubectl: discovery lists the kind; `auth can-i` answers yes (exit 0).
    "kubectl": """import json, sys
if "--raw" in sys.argv:
    print(json.dumps({"resources": [{"name": "secretproviderclasses"}]}))""",
}


@pytest.mark.parametrize(
    ("step", "env", "stdout"),
    [
        ("acr_build", BUILD_ENV, f"{DIGEST}\n"),
        ("acr_token", TOKEN_ENV, "eyJ0eXAi.registry-token\n"),
        ("rbac_ready", {"NAMESPACE": "demo"}, "the deployer can create Jobs in namespace demo\n"),
        ("kind_ready", KIND_ENV, "the API server serves secretproviderclasses in secrets-store.csi.x-k8s.io/v1\n"),
    ],
)
def test_each_step_runs_with_nothing_on_path_but_the_tools_it_calls(
    tmp_path: Path, step: str, env: dict[str, str], stdout: str
) -> None:
    """No sh, cat, mktemp, sed or base64: the fakes themselves are Python, as on a Windows PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in PYTHON_FAKES.items():
        fake(bin_dir, tool, body, interpreter=sys.executable)
    result = run(step, bin_dir, env, stdin="apiVersion: v1\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == stdout


def test_the_acr_build_update_only_reads_the_digest(bin_dir: Path, tmp_path: Path) -> None:
    """The command changed, not the content (same tag): nothing is built, the pushed image's digest stays."""
    calls = tmp_path / "az-calls"
    fake(bin_dir, "az", FAKE_AZ)
    result = run("acr_build", bin_dir, {**BUILD_ENV, "CALLS": str(calls)}, mode="digest")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{DIGEST}\n"
    assert [call.split()[:3] for call in calls.read_text().splitlines()] == [["acr", "repository", "show"]]


@pytest.mark.parametrize("step", sorted(MODES))
def test_a_step_refuses_a_mode_it_does_not_know(bin_dir: Path, step: str) -> None:
    result = run(step, bin_dir, {}, mode="delete")
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: {step}.py ")


def test_steps_import_only_the_standard_library() -> None:
    """The interpreter is the program's, but a step must not depend on which packages it has."""
    siblings = {path.stem for path in STEPS.glob("*.py")}
    for path in STEPS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in siblings or top == "__future__", (path.name, name)


@pytest.mark.parametrize(
    "config",
    [{"imageBuilder": "acr"}, {"imageBuilder": "docker"}, {"secretDelivery": "csi", "csiRotationPollInterval": "5m"}],
    ids=["acr", "docker", "csi"],
)
def test_no_command_of_the_program_runs_a_shell(config: dict[str, str]) -> None:
    """Every local command names its interpreter, the program's own Python, and a step with its mode."""
    commands = evaluate(config).of_type(t.COMMAND)
    assert commands
    for command in commands:
        python, step = command.inputs["interpreter"]
        assert (PROGRAM_DIR / python).samefile(sys.executable), command.name
        assert step.startswith("steps/")
        assert command.inputs["create"] == MODES[Path(step).stem], command.name


def test_the_interpreter_is_the_virtualenv_python_relative_to_the_program_and_not_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for every deployer who uses the project's virtualenv; its symlink kept, since the target
    would run without the virtualenv and differs between machines."""
    venv_python = paths.PROJECT_ROOT / ".venv" / "bin" / "python"
    monkeypatch.chdir(PROGRAM_DIR)
    monkeypatch.setattr(sys, "executable", str(venv_python))
    assert paths.python() == "../.venv/bin/python"
    outside = tmp_path / "python3"
    outside.symlink_to(sys.base_prefix + "/bin/python3")
    monkeypatch.setattr(sys, "executable", str(outside))
    assert paths.python() == str(outside)


def test_a_deployed_stack_updates_its_commands_in_place_and_keeps_its_image_and_jobs() -> None:
    """The state an `up` at 354a22b (shell scripts) left. The commands change their command, not their
    triggers: an update, not a replacement (pulumi-command replaces on `triggers` only). Its preview cannot
    know the build's stdout (pulumi-go-provider marks the outputs of a changed resource unknown), so it
    shows the Jobs, whose image is that digest, replaced, once; the up re-reads the digest
    (`update: digest`) and builds nothing. The Jobs are replaced (they run once more): their podFailurePolicy
    changed, which Kubernetes does not change in place (jobs.py)."""
    before = load(STATES / "dev-at-354a22b.json")
    preview = evaluate(prior=before, preview=True)
    assert preview.changes(before) == {
        "app-image-acr-build": "update: create, interpreter, update",
        "namespace-workload-identity-demo-rbac-ready": "update: create, interpreter",
        "demo-secret-provider-class-kind-ready": "update: create, interpreter",
        t.SDK_JOB: "replace: spec",
        t.FILE_JOB: "replace: spec",
    }
    after = evaluate(prior=before)
    build = after.named("app-image-acr-build")
    assert build.outputs["stdout"] == before.named("app-image-acr-build").outputs["stdout"]
    assert {j.name: j.step for j in after.of_type(t.JOB)} == {j.name: "replace" for j in before.of_type(t.JOB)}
    assert evaluate(prior=after).changes(after) == {}
