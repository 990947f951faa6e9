"""Cross-resource wiring checks, shared by the wiring tests and the cut-wire (mutation) tests.

Each check fails with an AssertionError that names the broken link, the way the symptom
would show up on a real cluster (AADSTS70021, 403, a pod the webhook never touches, ...).
"""

from __future__ import annotations

import hashlib

import yaml

from tests.stack import constants as t
from tests.stack.harness import Evaluation, Registered, is_secret


def _job_container(job: Registered) -> dict:
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    return container


def check_federation(ev: Evaluation) -> None:
    """Issuer, subject and audience of the federated credential match the cluster and every Job's ServiceAccount
    (the SDK Job's token comes from the webhook, the file Job's from the kubelet for the CSI driver)."""
    fic, cluster = ev.one(t.FEDERATED_CREDENTIAL), ev.one(t.CLUSTER)
    sa, identity = ev.one(t.SERVICE_ACCOUNT), ev.one(t.IDENTITY)
    issuer = cluster.outputs["oidcIssuerProfile"]["issuerURL"]
    assert fic.inputs["issuer"] == issuer, "AADSTS700211: issuer differs from the cluster's OIDC issuer (verbatim)"
    assert ev.of_type(t.JOB), "no Job reads the secret"
    for job in ev.of_type(t.JOB):
        pod_sa = job.inputs["spec"]["template"]["spec"]["serviceAccountName"]
        job_ns = job.inputs["metadata"]["namespace"]
        assert pod_sa == sa.outputs["metadata"]["name"], f"{job.name} does not run as the federated ServiceAccount"
        assert job_ns == sa.outputs["metadata"]["namespace"], f"{job.name} is not in the ServiceAccount's namespace"
        expected_subject = f"system:serviceaccount:{job_ns}:{pod_sa}"
        assert fic.inputs["subject"] == expected_subject, f"AADSTS70021: subject is not {job.name}'s ServiceAccount"
    assert fic.inputs["audiences"] == ["api://AzureADTokenExchange"], "AADSTS70021: wrong audience"
    assert fic.inputs["resourceName"] == identity.outputs["name"], "the credential federates another identity"
    assert fic.inputs["resourceGroupName"] == ev.one(t.RESOURCE_GROUP).outputs["name"]


def check_namespace(ev: Evaluation) -> None:
    """Every Kubernetes object in the demo namespace, through the stack's own provider."""
    namespace, provider = ev.one(t.MANAGED_NAMESPACE).outputs["name"], ev.one(t.K8S_PROVIDER)
    objects = [r for r in ev.custom_resources() if r.type.startswith("kubernetes:")]
    assert {r.type for r in objects} >= {t.SERVICE_ACCOUNT, t.JOB, t.NETWORK_POLICY}
    for resource in objects:
        assert resource.inputs["metadata"]["namespace"] == namespace, f"{resource.name} is outside the demo namespace"
        assert resource.provider.startswith(provider.urn), f"{resource.name} does not use the stack's cluster provider"


def check_service_account_and_pod_label(ev: Evaluation) -> None:
    """The webhook mutates the pod only with the label; it injects the client id from the annotation."""
    sa, identity = ev.one(t.SERVICE_ACCOUNT), ev.one(t.IDENTITY)
    annotation = sa.inputs["metadata"].get("annotations", {}).get("azure.workload.identity/client-id")
    assert annotation == identity.outputs["clientId"], "ServiceAccount client-id annotation is not the identity's"
    for job in [j for j in ev.of_type(t.JOB) if j.name == t.SDK_JOB]:  # the file Job's token comes from the kubelet
        labels = job.inputs["spec"]["template"]["metadata"]["labels"]
        assert labels.get("azure.workload.identity/use") == "true", "pod lacks azure.workload.identity/use=true"


def check_roles(ev: Evaluation) -> None:
    """Each role on the right principal, at the narrowest scope."""
    identity, secret, cluster, registry = ev.one(t.IDENTITY), ev.one(t.SECRET), ev.one(t.CLUSTER), ev.one(t.REGISTRY)
    by_role: dict[str, list[Registered]] = {}
    for assignment in ev.of_type(t.ROLE_ASSIGNMENT):
        by_role.setdefault(assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1], []).append(assignment)
    (secrets_user,) = by_role.get(t.KEY_VAULT_SECRETS_USER, [None])
    assert secrets_user is not None, "403: nobody holds Key Vault Secrets User"
    assert secrets_user.inputs["principalId"] == identity.outputs["principalId"], "403: Secrets User on wrong principal"
    assert secrets_user.inputs["scope"] == secret.id, "Secrets User is not scoped to the secret"
    (acr_pull,) = by_role.get(t.ACR_PULL, [None])
    assert acr_pull is not None, "image pull 401: nobody holds AcrPull"
    kubelet = cluster.outputs["identityProfile"]["kubeletidentity"]["objectId"]
    assert acr_pull.inputs["principalId"] == kubelet, "image pull 401: AcrPull is not on the kubelet identity"
    assert acr_pull.inputs["scope"] == registry.id, "AcrPull is not scoped to the registry"


def check_job_inputs(ev: Evaluation, secret_value: str) -> None:
    """The Job reads this vault's secret and knows what it should find; its image is this build's."""
    job, vault, secret = ev.one(t.JOB, t.SDK_JOB), ev.one(t.VAULT), ev.one(t.SECRET)
    container = _job_container(job)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["VAULT_URL"] == vault.outputs["properties"]["vaultUri"], "the Job reads another vault"
    assert env["SECRET_NAME"] == secret.outputs["name"], "the Job reads another secret"
    expected = hashlib.sha256(secret_value.encode()).hexdigest()[:12]
    assert env["EXPECTED_SECRET_FINGERPRINT"] == expected, "the Job would not recognise the stored value"
    assert is_secret(job.raw_inputs["spec"]), "the fingerprint must travel as a secret"
    registry = ev.one(t.REGISTRY).outputs["loginServer"]
    image = container["image"]
    assert image.startswith(f"{registry}/"), "the image is not from the stack's registry"
    assert "@sha256:" in image, "the image is not pinned by digest"
    assert not image.split("@")[0].endswith(":latest")


def check_job_waits_for_the_chain(ev: Evaluation) -> None:
    """Explicit dependencies: no Job starts before federation, both grants, the secret and the image; the file
    Job not before its SecretProviderClass, nor that before the API server serves the kind."""
    roles = {a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]: a for a in ev.of_type(t.ROLE_ASSIGNMENT)}
    builds = [r for r in ev.resources if r.type in (t.COMMAND, t.DOCKER_IMAGE) and r.name.startswith("app-image-")]
    build = next(b for b in builds if not b.name.endswith("registry-token"))
    needed = {
        "federated credential": ev.one(t.FEDERATED_CREDENTIAL),
        "Key Vault Secrets User": roles[t.KEY_VAULT_SECRETS_USER],
        "AcrPull": roles[t.ACR_PULL],
        "secret": ev.one(t.SECRET),
        "image build": build,
    }
    for job in ev.of_type(t.JOB):
        for what, resource in needed.items():
            assert resource.urn in job.dependencies, f"{job.name} does not wait for the {what}"
    for spc in ev.of_type(t.SECRET_PROVIDER_CLASS):
        file_job = ev.one(t.JOB, t.FILE_JOB)
        assert spc.urn in file_job.dependencies, "the file Job does not wait for its SecretProviderClass"
        kind_ready = ev.named("demo-secret-provider-class-kind-ready")
        assert kind_ready.urn in spc.dependencies, "the class is created before the API server serves its kind"
        assert ev.one(t.CLUSTER).urn in kind_ready.dependencies, "the kind wait does not follow the add-on's enabling"


def check_secret_provider_class(ev: Evaluation) -> None:
    """Each file Job mounts, read-only, a class in its namespace that reads this vault's secret as the federated
    identity; the app reads the file the driver writes for it."""
    mounted: set[str] = set()
    for job in ev.of_type(t.JOB):
        pod = job.inputs["spec"]["template"]["spec"]
        volumes = [v for v in pod["volumes"] if "csi" in v]
        env = {e["name"] for c in pod["containers"] for e in c.get("env", [])}
        assert volumes or "SECRET_FILE" not in env, f"{job.name} reads a file no CSI volume mounts"
        for volume in volumes:
            _check_csi_volume(ev, job, volume)
            mounted.add(volume["csi"]["volumeAttributes"]["secretProviderClass"])
    for spc in ev.of_type(t.SECRET_PROVIDER_CLASS):
        assert spc.inputs["metadata"]["name"] in mounted, f"no Job mounts SecretProviderClass {spc.name}"


def _check_csi_volume(ev: Evaluation, job: Registered, volume: dict) -> None:
    identity, vault, secret = ev.one(t.IDENTITY), ev.one(t.VAULT), ev.one(t.SECRET)
    pod = job.inputs["spec"]["template"]["spec"]
    assert volume["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert volume["csi"]["readOnly"] is True, "the driver refuses a writable mount (Readonly is not true)"
    (spc,) = [
        c
        for c in ev.of_type(t.SECRET_PROVIDER_CLASS)
        if c.inputs["metadata"]["name"] == volume["csi"]["volumeAttributes"]["secretProviderClass"]
    ]
    assert spc.inputs["metadata"]["namespace"] == job.inputs["metadata"]["namespace"], (
        "class not in the pod's namespace"
    )
    assert spc.inputs["spec"]["provider"] == "azure"
    params = spc.inputs["spec"]["parameters"]
    assert params["usePodIdentity"] == "false", "pod identity mode: no token exchange for the pod"
    assert params["clientID"] == identity.outputs["clientId"], "AADSTS70021: the class signs in as another identity"
    assert "tenantId" not in params, "tenantId is deprecated; the provider reads tenantID"
    assert params["tenantID"] == identity.outputs["tenantId"], "the class signs in to another tenant"
    assert params["keyvaultName"] == vault.outputs["name"], "the class reads another vault"
    objects = [yaml.safe_load(doc) for doc in yaml.safe_load(params["objects"])["array"]]
    assert [(o["objectName"], o["objectType"]) for o in objects] == [(secret.outputs["name"], "secret")], (
        "the class mounts another secret"
    )
    ((mount,),) = [[m for m in c["volumeMounts"] if m["name"] == volume["name"]] for c in pod["containers"]]
    assert mount["readOnly"] is True
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["SECRET_FILE"] == f"{mount['mountPath']}/{objects[0]['objectName']}", "the app reads another file"


ALL_CHECKS = (
    check_federation,
    check_namespace,
    check_service_account_and_pod_label,
    check_roles,
    check_job_waits_for_the_chain,
    check_secret_provider_class,
)
