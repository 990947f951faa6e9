"""The workload binding as a component package: its schema under review, installed from a path, and used
by an outside Python program (under the engine emulation) and an outside YAML program (against the schema)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest
import yaml
from workload_binding.verification import Verification, retry_budget_seconds, verification_jobs

from tests.gates import component_schema
from tests.stack import constants as t
from tests.stack.harness import Evaluation, evaluate
from tests.stack.test_existing_resources import nothing_deployed
from tests.test_locks import pins

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "component"
CONSUMERS = ROOT / "tests" / "consumers"
SCHEMA = json.loads((PACKAGE_DIR / "schema.json").read_text())
TOKEN = "workloadid:index:WorkloadBinding"
ISSUER = "https://japaneast.oic.prod-aks.azure.com/00000000-aaaa-bbbb-cccc-000000000000/11111111-2222/"
SUBSCRIPTION = "/subscriptions/00000000-1111-2222-3333-444444444444"
VAULT_ID = f"{SUBSCRIPTION}/resourceGroups/rg-apps/providers/Microsoft.KeyVault/vaults/kv-apps"
VAULT_URI = "https://kv-apps.vault.azure.net/"
IMAGE = "acrapps.azurecr.io/keyvault-reader-demo@sha256:" + "ab" * 32
VAULT_HELD = nothing_deployed(
    {
        VAULT_ID: {
            "id": VAULT_ID,
            "name": "kv-apps",
            "properties": {"vaultUri": VAULT_URI, "enableRbacAuthorization": True},
        }
    }
)


def test_the_committed_schema_is_what_the_analyzer_infers() -> None:
    assert component_schema.generated() == (PACKAGE_DIR / "schema.json").read_text(), (
        "component/schema.json differs from the component: python -m tests.gates.component_schema --write"
    )


def test_a_changed_argument_changes_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not blind: an argument added to the component is a schema diff."""
    component_schema.generated()  # imports the package
    binding = sys.modules["workload_binding.binding"]
    monkeypatch.setattr(
        binding.WorkloadBindingArgs, "__annotations__", {**binding.WorkloadBindingArgs.__annotations__, "audience": str}
    )
    changed = json.loads(component_schema.generated())
    assert "audience" in changed["resources"][TOKEN]["inputProperties"]
    assert "audience" not in SCHEMA["resources"][TOKEN]["inputProperties"]


def test_one_version_and_the_locked_dependencies() -> None:
    project = tomllib.loads((PACKAGE_DIR / "pyproject.toml").read_text())["project"]
    assert SCHEMA["version"] == project["version"] == "0.2.0"
    assert SCHEMA["name"] == "workloadid"
    assert yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())["runtime"]["name"] == "python"
    locked = pins(ROOT / "requirements.txt")
    plugin = dict(line.split("==") for line in (PACKAGE_DIR / "requirements.txt").read_text().split() if "==" in line)
    assert plugin == {name: locked[name] for name in plugin}
    for requirement in project["dependencies"]:
        name, floor = requirement.split(">=")[0], requirement.split(">=")[1].split(",")[0]
        assert floor == locked[name], requirement


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install <path>`, as an outside project would (no dependencies: they are this venv's)."""
    target, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("source") / "component"
    # From a copy: setuptools writes its build files beside the sources.
    shutil.copytree(PACKAGE_DIR, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--no-compile", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def consumer(installed: Path) -> Evaluation:
    return run_consumer(installed, {})


@pytest.fixture(scope="module")
def verifying_consumer(installed: Path) -> Evaluation:
    """With the optional class and verification Jobs, in a world that holds the consumer's vault."""
    config = {"secretProviderClass": True, "verificationImage": IMAGE, "retryBudget": 900}
    return run_consumer(installed, config, prior=VAULT_HELD)


def run_consumer(installed: Path, config: dict[str, Any], **options: Any) -> Evaluation:
    """The outside program's `up`, importing the installed copy (the repository's own modules set aside for it,
    then put back: the program under test imports them)."""
    own = {name: module for name, module in sys.modules.items() if name.startswith("workload_binding")}
    for name in own:
        del sys.modules[name]
    sys.path.insert(0, str(installed))
    try:
        ev = evaluate(
            {
                "resourceGroupName": "rg-apps",
                "location": "westeurope",
                "oidcIssuerUrl": ISSUER,
                "keyVaultId": VAULT_ID,
                **config,
            },
            secrets={"kubeconfig": "apiVersion: v1\nkind: Config\n"},
            program_dir=CONSUMERS / "python",
            **options,
        )
        assert (sys.modules["workload_binding"].__file__ or "").startswith(str(installed)), "the installed copy"
        return ev
    finally:
        sys.path.remove(str(installed))
        for name in [m for m in sys.modules if m.startswith("workload_binding")]:
            del sys.modules[name]
        sys.modules.update(own)


def test_the_package_installs_from_a_path(installed: Path) -> None:
    assert (installed / "workload_binding" / "binding.py").is_file()
    assert list(installed.glob("workload_id_binding-0.2.0.dist-info"))


def test_an_outside_python_program_binds_its_workload(consumer: Evaluation) -> None:
    (binding,) = [r for r in consumer.resources if r.type == TOKEN]
    identity, credential = consumer.one(t.IDENTITY), consumer.one(t.FEDERATED_CREDENTIAL)
    assert binding.name == "orders"
    assert identity.inputs["resourceName"] == "id-orders"
    assert credential.inputs["issuer"] == ISSUER, "the issuer verbatim, trailing slash included"
    assert credential.inputs["subject"] == "system:serviceaccount:orders:orders-api"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["resourceName"] == identity.outputs["name"]
    grants = {r.inputs["scope"]: r for r in consumer.of_type(t.ROLE_ASSIGNMENT)}
    assert set(grants) == {f"{VAULT_ID}/secrets/orders-db-password", f"{VAULT_ID}/secrets/orders-api-key"}
    for grant in grants.values():
        assert grant.inputs["principalId"] == identity.outputs["principalId"]
        assert grant.inputs["roleDefinitionId"].endswith(t.KEY_VAULT_SECRETS_USER)
        assert grant.inputs["roleDefinitionId"].startswith(f"{SUBSCRIPTION}/")
    account = consumer.one(t.SERVICE_ACCOUNT)
    assert account.inputs["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": identity.outputs["clientId"]
    }
    assert (account.inputs["metadata"]["namespace"], account.inputs["metadata"]["name"]) == ("orders", "orders-api")
    assert account.provider.startswith(consumer.one(t.K8S_PROVIDER).urn), "the consumer's provider, passed down"
    assert consumer.exports["subject"] == "system:serviceaccount:orders:orders-api"
    assert consumer.exports["clientId"] == identity.outputs["clientId"]
    assert sorted(consumer.exports["roleAssignmentIds"]) == sorted(r.id for r in grants.values())
    assert consumer.of_type(t.JOB) == [], "no verification without an image"
    assert consumer.of_type(t.SECRET_PROVIDER_CLASS) == []


def test_the_optional_class_mounts_exactly_the_secrets_as_the_identity(verifying_consumer: Evaluation) -> None:
    identity = verifying_consumer.one(t.IDENTITY)
    spc = verifying_consumer.one(t.SECRET_PROVIDER_CLASS)
    assert (spc.inputs["metadata"]["namespace"], spc.inputs["metadata"]["name"]) == ("orders", "orders-api-keyvault")
    params = spc.inputs["spec"]["parameters"]
    assert (params["clientID"], params["tenantID"]) == (identity.outputs["clientId"], identity.outputs["tenantId"])
    assert (params["keyvaultName"], params["usePodIdentity"]) == ("kv-apps", "false")
    objects = [yaml.safe_load(doc)["objectName"] for doc in yaml.safe_load(params["objects"])["array"]]
    assert objects == ["orders-db-password", "orders-api-key"]
    assert spc.provider.startswith(verifying_consumer.one(t.K8S_PROVIDER).urn)


def test_the_verification_jobs_read_each_secret_as_the_workload_after_its_chain(
    verifying_consumer: Evaluation,
) -> None:
    ev = verifying_consumer
    identity, spc = ev.one(t.IDENTITY), ev.one(t.SECRET_PROVIDER_CLASS)
    chain = {ev.one(t.FEDERATED_CREDENTIAL).urn, ev.one(t.SERVICE_ACCOUNT).urn} | {
        g.urn for g in ev.of_type(t.ROLE_ASSIGNMENT)
    }
    read: dict[str, set[str]] = {}
    for job in ev.of_type(t.JOB):
        pod = job.inputs["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert pod["spec"]["serviceAccountName"] == "orders-api"
        assert container["image"] == IMAGE
        assert env["FINGERPRINT_SALT"] == identity.outputs["principalId"].replace("-", "")
        assert env["RETRY_BUDGET_SECONDS"] == "900"
        assert job.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "1200", "whole seconds"
        assert "EXPECTED_SECRET_FINGERPRINT" not in env, "the consumer's values are its own"
        assert chain <= set(job.dependencies), f"{job.name} may start before its federation and grants"
        if "SECRET_FILE" in env:
            (volume,) = [v for v in pod["spec"]["volumes"] if "csi" in v]
            assert volume["csi"]["volumeAttributes"]["secretProviderClass"] == "orders-api-keyvault"
            assert spc.urn in job.dependencies
            read.setdefault("file", set()).add(env["SECRET_FILE"].rsplit("/", 1)[-1])
        else:
            assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
            assert env["VAULT_URL"] == VAULT_URI
            read.setdefault("sdk", set()).add(env["SECRET_NAME"])
    assert read == {"sdk": {"orders-db-password", "orders-api-key"}, "file": {"orders-db-password", "orders-api-key"}}
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in ev.of_type(t.NETWORK_POLICY)}
    assert set(policies) == {"orders-api-verify-egress", "orders-api-verify-file-isolation"}
    assert "egress" not in policies["orders-api-verify-file-isolation"], "the file pods need no network"


def _matches(value: Any, spec: dict[str, Any]) -> bool:
    if isinstance(value, str) and value.startswith("${"):
        return True  # an interpolation: typed by what it refers to
    kinds = {"string": str, "boolean": bool, "integer": int, "number": (int, float), "array": list, "object": dict}
    if not isinstance(value, kinds[spec["type"]]):
        return False
    if spec["type"] == "array":
        return all(_matches(item, spec["items"]) for item in value)
    if spec["type"] == "object":
        return all(_matches(item, spec["additionalProperties"]) for item in value.values())
    return True


def test_an_outside_yaml_program_sets_only_what_the_schema_declares() -> None:
    program = yaml.safe_load((CONSUMERS / "yaml" / "Pulumi.yaml").read_text())
    assert set(program["packages"]) == {SCHEMA["name"]}
    assert (CONSUMERS / "yaml" / program["packages"]["workloadid"]).resolve() == PACKAGE_DIR
    resources = [r for r in program["resources"].values() if r["type"].startswith("workloadid:")]
    assert resources
    for resource in resources:
        spec = SCHEMA["resources"][resource["type"]]
        given = resource["properties"]
        assert set(spec["requiredInputs"]) <= set(given), "every required input set"
        for key, value in given.items():
            assert key in spec["inputProperties"], key
            assert _matches(value, spec["inputProperties"][key]), key
    for name, expression in program["outputs"].items():
        assert expression.split(".")[-1].rstrip("}") in SCHEMA["resources"][TOKEN]["properties"], name


def test_the_python_consumer_depends_on_the_package_by_a_path_pip_resolves_from_its_project() -> None:
    """`pulumi install` runs pip in the project directory; a relative path in requirements.txt is read from there."""
    lines = [line for line in (CONSUMERS / "python" / "requirements.txt").read_text().splitlines() if line[:1] != "#"]
    assert [(CONSUMERS / "python" / line).resolve() for line in lines] == [PACKAGE_DIR]


def test_the_retry_budget_arrives_as_whole_seconds_or_is_refused() -> None:
    """Through the schema 900 arrives as 900.0; pulumi-kubernetes reads only an integer timeoutSeconds."""
    assert retry_budget_seconds(900.0) == 900
    assert isinstance(retry_budget_seconds(900.0), int)
    for bad in (10, 600.5, 3600):
        with pytest.raises(ValueError, match="verificationRetryBudgetSeconds is"):
            retry_budget_seconds(bad)


def test_a_service_account_too_long_to_name_its_jobs_is_refused_before_any_job() -> None:
    verification = Verification(image=IMAGE, vault_uri=VAULT_URI, retry_budget_seconds=600, salt="s" * 32, after=())
    with pytest.raises(ValueError, match=r"serviceAccountName 'a{31}' is 31 characters"):
        verification_jobs(
            "orders",
            namespace="orders",
            service_account="a" * 31,
            secrets=["orders-db-password"],
            verification=verification,
            secret_provider_class=None,
            parent=cast(pulumi.Resource, None),
        )
