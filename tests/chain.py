"""The whole chain, offline: what the stack declares, deployed onto the local Azure fakes, and the real app run
exactly as the Job would run it, in the pod the workload identity webhook would mutate. One code path for the
end-to-end tests (tests/test_end_to_end.py) and the rehearsal (scripts/rehearse.sh).

pod -> projected ServiceAccount token -> Entra ID federated credential -> access token -> Key Vault

The file Job's chain: the kubelet's token for the pod's ServiceAccount -> the CSI driver's Azure provider
(tests/fakes/csi/driver.py), signed in as the SecretProviderClass's client id -> Key Vault -> a file in the
pod's volume -> the app in file mode.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tempfile
from pathlib import Path

import yaml

from tests.fakes import FakeAzure, RunResult, base_env
from tests.fakes.azure import FAST_RETRY_ENV
from tests.fakes.entra import AUTHORITY_HOST
from tests.fakes.fixtures import fake_material
from tests.stack import constants as t
from tests.stack.harness import TENANT_ID, Evaluation, Registered

USE_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"


def deploy(ev: Evaluation, azure: FakeAzure) -> None:
    """Declare in the fakes what `pulumi up` would create in Azure: every identity and its credentials, the
    vault and every secret, every role assignment at its scope."""
    identities = {i.outputs["name"]: i.outputs for i in ev.of_type(t.IDENTITY)}
    for identity in identities.values():
        azure.entra.add_identity(identity["name"], client_id=identity["clientId"], principal_id=identity["principalId"])
    for fic in ev.of_type(t.FEDERATED_CREDENTIAL):
        azure.entra.add_federated_credential(
            identities[fic.inputs["resourceName"]]["clientId"],
            issuer=fic.inputs["issuer"],
            subject=fic.inputs["subject"],
            audiences=tuple(fic.inputs["audiences"]),
            name=fic.inputs["federatedIdentityCredentialResourceName"],
        )
    vault_resource = ev.one(t.VAULT)
    properties = vault_resource.inputs["properties"]
    vault = azure.keyvault.add_vault(
        vault_resource.outputs["name"],
        rbac=properties["enableRbacAuthorization"],
        # Key Vault answers 403 ForbiddenByConnection, and with the default action Deny, ForbiddenByFirewall to a
        # pod whose egress address no rule lets in.
        public_network_access=properties.get("publicNetworkAccess", "Enabled") == "Enabled",
        firewall_allows=firewall_allows(properties.get("networkAcls") or {}, pod_egress_addresses(ev)),
    )
    secrets = {s.id: s.inputs["secretName"] for s in ev.of_type(t.SECRET)}
    for secret in ev.of_type(t.SECRET):
        vault.set_secret(secret.inputs["secretName"], secret.inputs["properties"]["value"])
    for assignment in ev.of_type(t.ROLE_ASSIGNMENT):
        role, scope = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1], assignment.inputs["scope"]
        if scope in secrets:
            vault.assign_role(assignment.inputs["principalId"], role, secret_name=secrets[scope])
        elif vault_resource.id == scope or vault_resource.id.startswith(scope + "/"):
            # Azure RBAC inherits: a grant on the vault, its group or subscription covers every secret.
            vault.assign_role(assignment.inputs["principalId"], role)


def pod_egress_addresses(ev: Evaluation) -> list[str]:
    """The public addresses the cluster's pods leave through: its load balancer's outbound IPs, as Azure holds them."""
    profile = ev.one(t.CLUSTER).outputs["networkProfile"]["loadBalancerProfile"]
    ids = {ref["id"].lower() for ref in profile["effectiveOutboundIPs"]}
    return [o["ipAddress"] for rid, o in ev.world.objects.items() if rid.lower() in ids]


def firewall_allows(acls: dict, addresses: list[str]) -> bool:
    if acls.get("defaultAction", "Allow") == "Allow":
        return True
    rules = [ipaddress.ip_network(rule["value"]) for rule in acls.get("ipRules") or []]
    return any(ipaddress.ip_address(a) in rule for a in addresses for rule in rules)


def is_file_job(job: Registered) -> bool:
    return any("csi" in v for v in job.inputs["spec"]["template"]["spec"]["volumes"])


_JOB_RUNS: dict[tuple[int, str], tuple[Evaluation, RunResult]] = {}


def job_run(ev: Evaluation, job: str) -> RunResult:
    """Deploy `ev` onto fresh fakes with its cluster's issuer and run its Job named `job` (a resource name).
    Once per evaluation and Job in a process: an evaluation is read-only and the fakes start empty, so the
    end-to-end tests and the rehearsal share the run."""
    key = (id(ev), job)
    if key not in _JOB_RUNS:  # the entry keeps `ev` alive, so its id is not reused
        _JOB_RUNS[key] = (ev, _run_on_fresh_fakes(ev, ev.one(t.JOB, job)))
    return _JOB_RUNS[key][1]


def _run_on_fresh_fakes(ev: Evaluation, job: Registered) -> RunResult:
    ca, cluster_key, entra_key = fake_material()
    issuer = ev.one(t.CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]
    with (
        tempfile.TemporaryDirectory() as workdir,
        FakeAzure(
            Path(workdir), ca, tenant_id=TENANT_ID, oidc_issuer_url=issuer, cluster_key=cluster_key, entra_key=entra_key
        ) as azure,
    ):
        deploy(ev, azure)
        result = (run_file_job if is_file_job(job) else run_job)(ev, azure, job)
        assert not azure.server_errors(), "a fake server crashed:\n" + "\n".join(azure.server_errors())
        assert not azure.entra.unexpected_requests, azure.entra.unexpected_requests
        assert not azure.keyvault.unexpected_requests, azure.keyvault.unexpected_requests
    return result


def run_job(ev: Evaluation, azure: FakeAzure, job_resource: Registered | None = None) -> RunResult:
    """Run the app with the Job's environment (the demo's SDK Job unless given), as the workload identity webhook
    would mutate its pod."""
    job = (job_resource or ev.one(t.JOB, t.SDK_JOB)).inputs
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


CSI_DRIVER = "secrets-store.csi.k8s.io"
MOUNT_FAILED_PREFIX = "csi mount failed: "  # tests/fakes/csi/driver.py
# Its own directory: run as a script, its folder leads sys.path, and tests/fakes/azure.py would shadow azure.
CSI_DRIVER_SCRIPT = Path(__file__).parent / "fakes" / "csi" / "driver.py"


def run_file_job(ev: Evaluation, azure: FakeAzure, job_resource: Registered | None = None) -> RunResult:
    """Mount a file Job's CSI volume (the demo's unless given) as the driver would, then run the app in file mode
    on it. A failed mount is returned as the driver's result: the pod would never start."""
    job = (job_resource or ev.one(t.JOB, t.FILE_JOB)).inputs
    namespace, pod = job["metadata"]["namespace"], job["spec"]["template"]
    (volume,) = [v for v in pod["spec"]["volumes"] if v.get("csi", {}).get("driver") == CSI_DRIVER]
    assert volume["csi"]["readOnly"] is True, "the driver refuses a writable mount"
    class_name = volume["csi"]["volumeAttributes"]["secretProviderClass"]
    # The driver looks the class up in the pod's namespace.
    classes = [
        c.inputs
        for c in ev.of_type(t.SECRET_PROVIDER_CLASS)
        if (c.inputs["metadata"]["name"], c.inputs["metadata"]["namespace"]) == (class_name, namespace)
    ]
    assert classes, f"SecretProviderClass {namespace}/{class_name} not found: the mount fails"
    parameters = classes[0]["spec"]["parameters"]
    objects = [yaml.safe_load(doc) for doc in yaml.safe_load(parameters["objects"])["array"]]
    mount = Path(tempfile.mkdtemp(dir=azure.workdir))
    env = {**base_env(azure.workdir), **azure.network_env()}
    env |= {
        "CLIENT_ID": parameters.get("clientID", ""),
        # The provider reads tenantID, then the deprecated tenantId (pkg/provider/types/parameters.go GetTenantID).
        "TENANT_ID": parameters.get("tenantID") or parameters.get("tenantId", ""),
        "KEYVAULT_NAME": parameters["keyvaultName"],
        "OBJECT_NAMES": ",".join(o["objectName"] for o in objects),
        "OBJECT_TYPES": ",".join(o.get("objectType", "") for o in objects),
        "USE_POD_IDENTITY": parameters.get("usePodIdentity", "false"),
        # The kubelet's token for the pod's own ServiceAccount; no webhook, no label needed.
        "POD_TOKEN_FILE": str(azure.project_token(namespace, pod["spec"]["serviceAccountName"])),
        "AUTHORITY_HOST": AUTHORITY_HOST,
        "MOUNT_DIR": str(mount),
    }
    mounted = azure.run(env, script=CSI_DRIVER_SCRIPT)
    if mounted.returncode != 0:
        return mounted
    ((mount_path, _),) = [
        (m["mountPath"], m) for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == volume["name"]
    ]
    (container,) = pod["spec"]["containers"]
    app_env = {e["name"]: e["value"] for e in container["env"]}
    app_env["SECRET_FILE"] = app_env["SECRET_FILE"].replace(mount_path, str(mount), 1)
    result = azure.run({**base_env(azure.workdir), **app_env})
    # Shown as in the pod: the volume at its mount path.
    return dataclasses.replace(
        result,
        stdout=result.stdout.replace(str(mount), mount_path),
        stderr=result.stderr.replace(str(mount), mount_path),
    )


def mount_failed(result: RunResult) -> bool:
    """A file Job's run that stopped at the driver's mount: the pod would stay ContainerCreating."""
    return result.stderr.startswith(MOUNT_FAILED_PREFIX)


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

# Each cut of the file Job's chain, and what the driver's mount fails with (the pod never starts). The
# deprecated tenantId still works (the provider falls back to it): only the wiring check and the policy catch it.
EXPECTED_FILE_FAILURE = {
    "class signs in as another identity": "AADSTS700016",
    "class names another vault": "ServiceRequestError",
    "class names another secret": "HTTP 403",
    "file Job runs as the default ServiceAccount": "AADSTS70021",
}
