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

import pytest

from tests.chain import EXPECTED_FAILURE, deploy, run_job
from tests.fakes import FakeAzure, RunResult
from tests.fakes.fixtures import fake_azure_factory, fake_ca, fake_signing_keys
from tests.stack import constants as t
from tests.stack.harness import TENANT_ID, Evaluation, evaluate
from tests.stack.test_cut_wires import CUTS

__all__ = ["fake_azure_factory", "fake_ca", "fake_signing_keys"]


@pytest.fixture
def deployed(fake_azure_factory: Callable[..., FakeAzure]) -> Callable[[Evaluation], RunResult]:
    def run(ev: Evaluation) -> RunResult:
        issuer = ev.one(t.CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]
        azure = fake_azure_factory(tenant_id=TENANT_ID, oidc_issuer_url=issuer)
        deploy(ev, azure)
        return run_job(ev, azure)

    return run


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
    monkeypatch: pytest.MonkeyPatch, deployed: Callable[[Evaluation], RunResult], cut: str
) -> None:
    apply_cut, _ = CUTS[cut]
    apply_cut(monkeypatch)
    result = deployed(evaluate())
    exit_code, symptom = EXPECTED_FAILURE[cut]
    assert result.returncode == exit_code, result.stderr
    assert symptom in result.stderr
    assert result.stdout == ""


def test_a_grant_wider_than_the_secret_still_works_so_only_the_wiring_check_catches_it(
    monkeypatch: pytest.MonkeyPatch, deployed: Callable[[Evaluation], RunResult]
) -> None:
    """Key Vault Secrets User on the resource group is inherited by the secret: the Job reads it,
    but the identity could read every secret of every vault in the group."""
    apply_cut, check = CUTS["Secrets User at resource-group scope"]
    apply_cut(monkeypatch)
    ev = evaluate()
    assert deployed(ev).returncode == 0
    with pytest.raises(AssertionError, match="not scoped to the secret"):
        check(ev)
