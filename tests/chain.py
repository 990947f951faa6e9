"""The whole chain, offline: what the stack declares, deployed onto the local Azure fakes, and the real app run
exactly as the Job would run it, in the pod the workload identity webhook would mutate. One code path for the
end-to-end tests (tests/test_end_to_end.py) and the rehearsal (scripts/rehearse.sh).

pod -> projected ServiceAccount token -> Entra ID federated credential -> access token -> Key Vault
"""

from __future__ import annotations

from tests.fakes import FakeAzure, RunResult, base_env
from tests.fakes.azure import FAST_RETRY_ENV
from tests.stack import constants as t
from tests.stack.harness import Evaluation

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
    job = ev.one(t.JOB, t.SDK_JOB).inputs
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
