"""The chain pod -> token -> federated credential -> identity -> role -> secret is wired end to end."""

from __future__ import annotations

import pytest

from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.harness import Evaluation, evaluate


@pytest.mark.parametrize("check", wiring.ALL_CHECKS, ids=lambda c: c.__name__)
def test_default_stack_is_wired(dev: Evaluation, check) -> None:
    check(dev)


def test_job_reads_the_generated_secret(dev: Evaluation) -> None:
    wiring.check_job_inputs(dev, {"demo-secret": dev.one(t.RANDOM_PASSWORD).outputs["result"]})


def test_job_reads_the_configured_secret() -> None:
    ev = evaluate(secrets={"secretValue": "correct horse battery staple"})
    wiring.check_job_inputs(ev, {"demo-secret": "correct horse battery staple"})


@pytest.mark.parametrize("builder", ["acr", "docker"])
def test_custom_namespace_and_service_account_flow_into_the_subject(builder: str) -> None:
    ev = evaluate({"namespace": "team-a", "serviceAccountName": "vault-reader-2", "imageBuilder": builder})
    for check in wiring.ALL_CHECKS:
        check(ev)
    assert ev.one(t.FEDERATED_CREDENTIAL).inputs["subject"] == "system:serviceaccount:team-a:vault-reader-2"


def test_federated_credential_waits_only_for_the_identity_and_the_cluster_issuer(dev: Evaluation) -> None:
    """Its subject comes from the configured names, so it is created beside the Kubernetes objects,
    not behind them: Entra ID gets that time to propagate it before the Job's token exchange."""
    fic = dev.one(t.FEDERATED_CREDENTIAL)
    assert dev.one(t.CLUSTER).urn in fic.property_dependencies["issuer"]
    assert dev.one(t.IDENTITY).urn in fic.property_dependencies["resourceName"]
    assert fic.property_dependencies.get("subject", []) == []
    for later in (
        dev.one(t.SERVICE_ACCOUNT),
        dev.one(t.K8S_PROVIDER),
        dev.named("namespace-workload-identity-demo-rbac-ready"),
    ):
        assert not dev.depends_transitively(fic, later), later.name


def test_only_one_federated_credential_per_identity(dev: Evaluation) -> None:
    # Parallel writes of credentials on one identity fail with 409; there is exactly one.
    assert len(dev.of_type(t.FEDERATED_CREDENTIAL)) == 1
