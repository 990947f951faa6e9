"""The whole chain, offline: deploy what the stack declares onto the local Azure fakes, then run
the real app exactly as the Job would run it, in the pod the webhook would mutate.

pod -> projected ServiceAccount token -> Entra ID federated credential -> access token -> Key Vault

Every value below comes from the program's declared resources (under Pulumi mocks): the
cluster's issuer, the federated credential, the identity, the vault and its secret, the role
assignments, the ServiceAccount and the Job's pod template and environment. Cutting one wire
in the program makes the app fail with the exit code of the matching real-world symptom.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pulumi_azure_native.keyvault as keyvault
import pulumi_kubernetes as k8s
import pytest

from tests.chain import EXPECTED_FAILURE, EXPECTED_FILE_FAILURE, deploy, job_run, mount_failed, run_file_job, run_job
from tests.fakes import FakeAzure, RunResult
from tests.fakes.fixtures import fake_azure_factory, fake_ca, fake_signing_keys
from tests.stack import constants as t
from tests.stack.cuts import CUTS, LEAKED_GRANT, class_parameters, tamper
from tests.stack.harness import TENANT_ID, Cut, Evaluation, evaluate, evaluate_stack
from tests.stack.refresh import refreshed
from tests.stack.stacks import THREE_WORKLOADS

__all__ = ["fake_azure_factory", "fake_ca", "fake_signing_keys"]


@pytest.fixture
def deployed() -> Callable[[Evaluation], RunResult]:
    """Deploy what the program declares onto fakes with the cluster's issuer, then run its SDK Job."""
    return lambda ev: job_run(ev, t.SDK_JOB)


@pytest.fixture
def deployed_file_job() -> Callable[[Evaluation], RunResult]:
    """The same, then mount the file Job's CSI volume as the driver would and run its app in file mode."""
    return lambda ev: job_run(ev, t.FILE_JOB)


@pytest.mark.parametrize("secrets", [{}, {"secretValue": "configured-value-42"}], ids=["generated", "configured"])
def test_the_file_job_reads_the_file_the_csi_driver_mounts(
    deployed_file_job: Callable[[Evaluation], RunResult], secrets: dict[str, str]
) -> None:
    ev = evaluate({"secretDelivery": "csi"}, secrets=secrets)
    result = deployed_file_job(ev)
    assert result.returncode == 0, result.stderr
    env = {
        e["name"]: e["value"]
        for e in ev.one(t.JOB, t.FILE_JOB).inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    (line,) = result.stdout_lines
    assert line.startswith("OK file=")
    assert line.endswith(f"/{ev.one(t.SECRET).inputs['secretName']} fingerprint={env['EXPECTED_SECRET_FINGERPRINT']}")


@pytest.mark.parametrize("cut", list(EXPECTED_FILE_FAILURE))
def test_a_cut_wire_of_the_file_chain_fails_the_mount(
    deployed_file_job: Callable[[Evaluation], RunResult], cut: str
) -> None:
    result = deployed_file_job(evaluate(cut=CUTS[cut]))
    assert result.returncode == 1, result.stderr
    assert mount_failed(result), result.stderr
    assert EXPECTED_FILE_FAILURE[cut] in result.stderr
    assert result.stdout == ""


def test_the_deprecated_tenant_key_still_mounts_so_only_the_wiring_check_catches_it(
    deployed_file_job: Callable[[Evaluation], RunResult],
) -> None:
    cut = CUTS["class uses the deprecated tenantId key"]
    ev = evaluate(cut=cut)
    assert deployed_file_job(ev).returncode == 0
    with pytest.raises(AssertionError, match="deprecated"):
        cut.check(ev)


@pytest.mark.parametrize("builder", ["acr", "docker"])
def test_the_declared_chain_reads_the_secret(deployed: Callable[[Evaluation], RunResult], builder: str) -> None:
    ev = evaluate({"imageBuilder": builder})
    result = deployed(ev)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout_lines
    env = {
        e["name"]: e["value"]
        for e in ev.one(t.JOB, t.SDK_JOB).inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert f"client_id={ev.one(t.IDENTITY).outputs['clientId']}" in line
    assert f"fingerprint={env['EXPECTED_SECRET_FINGERPRINT']}" in line
    assert f"secret={ev.one(t.SECRET).inputs['secretName']}" in line


def test_a_configured_secret_value_is_read_and_checked(deployed: Callable[[Evaluation], RunResult]) -> None:
    result = deployed(evaluate(secrets={"secretValue": "configured-value-42"}))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cut", list(EXPECTED_FAILURE))
def test_a_cut_wire_fails_the_job_with_the_matching_diagnosis(
    deployed: Callable[[Evaluation], RunResult], cut: str
) -> None:
    result = deployed(evaluate(cut=CUTS[cut]))
    exit_code, symptom = EXPECTED_FAILURE[cut]
    assert result.returncode == exit_code, result.stderr
    assert symptom in result.stderr
    assert result.stdout == ""


def test_a_grant_wider_than_the_secret_still_works_so_only_the_wiring_check_catches_it(
    deployed: Callable[[Evaluation], RunResult],
) -> None:
    """Key Vault Secrets User on the resource group is inherited by the secret: the Job reads it,
    but the identity could read every secret of every vault in the group."""
    cut = CUTS["Secrets User at resource-group scope"]
    ev = evaluate(cut=cut)
    assert deployed(ev).returncode == 0
    with pytest.raises(AssertionError, match="is not scoped to one secret"):
        cut.check(ev)


def test_after_a_rotation_both_jobs_prove_the_new_value(fake_azure_factory: Callable[..., FakeAzure]) -> None:
    """The first up after the period writes a new value; the re-run Jobs read it and match their new
    expectation, while the old Jobs' expectation would no longer match it (exit 8)."""
    config = {"secretRotationDays": 30}
    before = evaluate(config)
    rotated = evaluate(config, prior=refreshed(before, later=timedelta(days=31)))
    issuer = rotated.one(t.CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]
    azure = fake_azure_factory(tenant_id=TENANT_ID, oidc_issuer_url=issuer)
    deploy(rotated, azure)
    for run in (run_job, run_file_job):
        assert run(rotated, azure).returncode == 0
        stale = run(before, azure)
        assert stale.returncode == 8, stale.stderr
        assert "fingerprint mismatch" in stale.stderr


@pytest.mark.parametrize(
    ("parameter", "value", "symptom"),
    [
        ("usePodIdentity", "true", "no NMI"),
        ("objects", "array:\n  - |\n    objectName: demo-secret\n    objectType: key\n", "objectType"),
    ],
)
def test_the_fake_driver_refuses_what_the_real_one_cannot_mount(
    deployed_file_job: Callable[[Evaluation], RunResult], parameter: str, value: str, symptom: str
) -> None:
    cut = Cut(
        f"class parameter {parameter} = {value!r}",
        lambda mp: tamper(
            mp, k8s.apiextensions, "CustomResource", class_parameters(lambda p: p.update({parameter: value}))
        ),
    )
    result = deployed_file_job(evaluate({"secretDelivery": "csi"}, cut=cut))
    assert result.returncode == 1
    assert symptom in result.stderr


@pytest.fixture(scope="module")
def three() -> Evaluation:
    return evaluate(THREE_WORKLOADS)


@pytest.mark.xdist_group("three workloads: chain")
def test_each_job_of_three_workloads_reads_its_secret_as_its_own_identity(three: Evaluation) -> None:
    jobs = [job for job in three.of_type(t.JOB) if not job.name.endswith("-isolation-job")]
    assert len(jobs) == 6  # orders: 2 secrets, sdk; payments: 2, csi; reports: 1, both ways
    for job in jobs:
        result = job_run(three, job.name)
        assert result.returncode == 0, (job.name, result.stderr)
        (line,) = result.stdout_lines
        env = job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
        secret = next(e["value"] for e in env if e["name"] in ("SECRET_NAME", "SECRET_FILE"))
        assert secret.rsplit("/", 1)[-1] in line, (job.name, line)


@pytest.mark.xdist_group("three workloads: chain")
@pytest.mark.parametrize("workload", ["orders", "payments", "reports"])
def test_each_workload_is_refused_a_secret_it_was_not_granted(three: Evaluation, workload: str) -> None:
    result = job_run(three, f"{workload}-isolation-job")
    assert result.returncode == 0, result.stderr
    own, denied = result.stdout_lines
    assert own.startswith("OK secret=")
    assert denied.startswith("OK denied secret=")
    assert denied.endswith("(403 ForbiddenByRbac)")


@pytest.mark.xdist_group("three workloads: chain")
def test_a_leaked_grant_fails_the_isolation_check_naming_both_workloads_and_the_secret() -> None:
    leaked = evaluate(THREE_WORKLOADS, cut=LEAKED_GRANT)
    result = job_run(leaked, "orders-isolation-job")
    assert result.returncode == 11, result.stderr
    assert "FAILED (exit 11, isolation broken): workload orders" in result.stderr
    assert "read secret payments-key in https://" in result.stderr
    assert "which only payments may read" in result.stderr
    assert job_run(leaked, "payments-isolation-job").returncode == 0, "payments' own check is unaffected"


def close_the_firewall_to_the_cluster(name: str, kw: dict) -> None:
    properties = dict(kw["properties"])
    properties["network_acls"] = {**properties["network_acls"], "ip_rules": []}
    kw["properties"] = properties


def disable_public_network_access(name: str, kw: dict) -> None:
    kw["properties"] = {**kw["properties"], "public_network_access": "Disabled"}


FIREWALL_WITHOUT_THE_CLUSTER = Cut(
    "vault firewall without the cluster's egress",
    lambda mp: tamper(mp, keyvault, "Vault", close_the_firewall_to_the_cluster),
)
NO_PUBLIC_NETWORK_ACCESS = Cut(
    "vault public network access disabled", lambda mp: tamper(mp, keyvault, "Vault", disable_public_network_access)
)


def test_prods_closed_firewall_lets_the_clusters_pods_in(deployed: Callable[[Evaluation], RunResult]) -> None:
    """prod's vault denies by default and allows only the cluster's egress address: the Job still reads."""
    prod = evaluate_stack("prod")
    assert prod.one(t.VAULT).inputs["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert deployed(prod).returncode == 0


@pytest.mark.parametrize(
    ("cut", "symptom"),
    [(FIREWALL_WITHOUT_THE_CLUSTER, "ForbiddenByFirewall"), (NO_PUBLIC_NETWORK_ACCESS, "ForbiddenByConnection")],
    ids=["firewall", "public-network-access"],
)
def test_a_vault_the_pods_cannot_reach_fails_the_job(
    deployed: Callable[[Evaluation], RunResult], cut: Cut, symptom: str
) -> None:
    result = deployed(evaluate_stack("prod", cut=cut))
    assert result.returncode == 5, result.stderr
    assert symptom in result.stderr
