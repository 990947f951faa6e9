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

from tests.fakes import FakeAzure, RunResult, base_env
from tests.fakes.azure import FAST_RETRY_ENV
from tests.fakes.fixtures import fake_azure_factory, fake_ca, fake_signing_keys
from tests.stack import constants as t
from tests.stack.harness import TENANT_ID, Evaluation, evaluate
from tests.stack.test_cut_wires import CUTS

__all__ = ["fake_azure_factory", "fake_ca", "fake_signing_keys"]

USE_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"


def deploy(ev: Evaluation, azure: FakeAzure) -> None:
    """Declare in the fakes what `pulumi up` would create in Azure."""
    identity = ev.one(t.IDENTITY).outputs
    azure.entra.add_identity(identity["name"], client_id=identity["clientId"], principal_id=identity["principalId"])
    for fic in ev.of_type(t.FEDERATED_CREDENTIAL):
        assert fic.inputs["resourceName"] == identity["name"]
        azure.entra.add_federated_credential(
            identity["clientId"],
            issuer=fic.inputs["issuer"],
            subject=fic.inputs["subject"],
            audiences=tuple(fic.inputs["audiences"]),
            name=fic.inputs["federatedIdentityCredentialResourceName"],
        )
    vault_resource, secret_resource = ev.one(t.VAULT), ev.one(t.SECRET)
    vault = azure.keyvault.add_vault(
        vault_resource.outputs["name"], rbac=vault_resource.inputs["properties"]["enableRbacAuthorization"]
    )
    vault.set_secret(secret_resource.inputs["secretName"], secret_resource.inputs["properties"]["value"])
    for assignment in ev.of_type(t.ROLE_ASSIGNMENT):
        role, scope = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1], assignment.inputs["scope"]
        if scope == secret_resource.id:
            vault.assign_role(assignment.inputs["principalId"], role, secret_name=secret_resource.inputs["secretName"])
        elif vault_resource.id == scope or vault_resource.id.startswith(scope + "/"):
            # Azure RBAC inherits: a grant on the vault, its group or subscription covers the secret.
            vault.assign_role(assignment.inputs["principalId"], role)


def run_job(ev: Evaluation, azure: FakeAzure) -> RunResult:
    """Run the app with the Job's environment, as the workload identity webhook would mutate its pod."""
    job = ev.one(t.JOB).inputs
    namespace, pod = job["metadata"]["namespace"], job["spec"]["template"]
    service_account_name = pod["spec"]["serviceAccountName"]
    (container,) = pod["spec"]["containers"]
    env = {**base_env(azure.workdir), **azure.network_env()}
    env |= {e["name"]: e["value"] for e in container["env"]}
    # No retries: nothing propagates in the fakes, a request succeeds at once or never will.
    env |= {"RETRY_BUDGET_SECONDS": "0", **FAST_RETRY_ENV}
    service_accounts = [
        sa.inputs
        for sa in ev.of_type(t.SERVICE_ACCOUNT)
        if (sa.inputs["metadata"]["name"], sa.inputs["metadata"]["namespace"]) == (service_account_name, namespace)
    ]
    # A ServiceAccount the stack does not declare (e.g. "default") exists, but carries no annotation.
    annotations = (service_accounts[0]["metadata"].get("annotations") or {}) if service_accounts else {}
    client_id = annotations.get(CLIENT_ID_ANNOTATION)
    # The webhook mutates only labelled pods, and injects the client id from the ServiceAccount annotation.
    if pod["metadata"]["labels"].get(USE_LABEL) == "true" and namespace != "kube-system":
        token_file = azure.project_token(namespace, service_account_name)
        env |= azure.webhook_env(client_id or "", token_file)
        if not client_id:
            env.pop("AZURE_CLIENT_ID")
    return azure.run(env)


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
    env = {e["name"]: e["value"] for e in ev.one(t.JOB).inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert f"client_id={ev.one(t.IDENTITY).outputs['clientId']}" in line
    assert f"fingerprint={env['EXPECTED_SECRET_FINGERPRINT']}" in line
    assert f"secret={ev.one(t.SECRET).inputs['secretName']}" in line


def test_a_configured_secret_value_is_read_and_checked(deployed: Callable[[Evaluation], RunResult]) -> None:
    result = deployed(evaluate(secrets={"secretValue": "configured-value-42"}))
    assert result.returncode == 0, result.stderr


# Each cut wire, the exit code the app gives for its symptom (app/README.md), and what it says.
EXPECTED_FAILURE = {
    "issuer without trailing slash": (4, "AADSTS700211"),
    "subject in another namespace": (4, "AADSTS70021"),
    "wrong audience": (4, "AADSTS700212"),
    "audience constant": (4, "AADSTS700212"),
    "Job runs as the default ServiceAccount": (3, "azure.workload.identity/client-id"),  # no annotation on "default"
    "no client-id annotation": (3, "azure.workload.identity/client-id"),
    "pod label missing": (3, "azure.workload.identity/use"),
    "pod label key typo": (3, "azure.workload.identity/use"),
    "Secrets User on another principal": (5, "ForbiddenByRbac"),
    "Secrets User role GUID": (5, "ForbiddenByRbac"),
}


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
