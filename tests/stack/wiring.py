"""Cross-resource wiring checks, shared by the wiring tests and the cut-wire (mutation) tests.

Each check takes every workload of the stack in turn (its component's children, its binding's children (the
WorkloadBinding of component/), its class) and fails with an AssertionError that names the broken link, the
way the symptom would show up on a real cluster (AADSTS70021, 403, a pod the webhook never touches, ...).
Which resource belongs to which workload is read from the program's structure (parents); every value is
then checked, not assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from app.read_secret import fingerprint
from tests.stack import constants as t
from tests.stack.harness import Evaluation, Registered, is_secret

WORKLOAD = "workloadid:kubernetes:Workload"
BINDING = "workloadid:index:WorkloadBinding"
CLASS_COMPONENT = "workloadid:kubernetes:SecretProviderClass"


@dataclass(frozen=True)
class WorkloadWiring:
    name: str
    identity: Registered
    credential: Registered
    service_account: Registered
    jobs: list[Registered]
    grants: list[Registered]  # the role assignments of its binding
    secret_provider_class: Registered | None

    @property
    def file_jobs(self) -> list[Registered]:
        return [job for job in self.jobs if any("csi" in v for v in _pod(job)["volumes"])]

    @property
    def sdk_jobs(self) -> list[Registered]:
        return [job for job in self.jobs if job not in self.file_jobs]


def _children(ev: Evaluation, parent: Registered, typ: str) -> list[Registered]:
    return [r for r in ev.resources if r.parent == parent.urn and r.type == typ]


def workloads(ev: Evaluation) -> list[WorkloadWiring]:
    found = []
    for component in ev.of_type(WORKLOAD):
        name = component.name
        binding = ev.one(BINDING, name)
        classes = [c for c in ev.of_type(CLASS_COMPONENT) if c.name == f"{name}-secret-provider-class"]
        (identity,) = _children(ev, binding, t.IDENTITY)
        (credential,) = _children(ev, binding, t.FEDERATED_CREDENTIAL)
        (service_account,) = _children(ev, binding, t.SERVICE_ACCOUNT)
        found.append(
            WorkloadWiring(
                name=name,
                identity=identity,
                credential=credential,
                service_account=service_account,
                jobs=_children(ev, component, t.JOB),
                grants=_children(ev, binding, t.ROLE_ASSIGNMENT),
                secret_provider_class=_children(ev, classes[0], t.SECRET_PROVIDER_CLASS)[0] if classes else None,
            )
        )
    assert found, "the stack declares no workload"
    return found


def _pod(job: Registered) -> dict:
    return job.inputs["spec"]["template"]["spec"]


def _env(job: Registered) -> dict[str, str]:
    (container,) = _pod(job)["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def _vault(ev: Evaluation) -> Mapping:
    """The vault the secrets are in: the stack's own, or the existing one it only reads (existingKeyVault)."""
    owned = ev.of_type(t.VAULT)
    if owned:
        return ev.one(t.VAULT).outputs
    return ev.world.get(_vault_id(ev))


def _vault_id(ev: Evaluation) -> str:
    if ev.of_type(t.VAULT):
        return ev.one(t.VAULT).id
    # Each secret the stack writes or grants is in the vault (Key Vault Secrets User is granted per secret).
    grants = [
        a for a in ev.of_type(t.ROLE_ASSIGNMENT) if a.inputs["roleDefinitionId"].endswith(t.KEY_VAULT_SECRETS_USER)
    ]
    (vault_id,) = {s.id.split("/secrets/")[0] for s in ev.of_type(t.SECRET)} | {
        g.inputs["scope"].split("/secrets/")[0] for g in grants
    }
    return vault_id


def _cluster(ev: Evaluation) -> Mapping:
    """The cluster the workloads run on: the stack's own, or the existing one it only reads (existingCluster)."""
    return ev.existing_cluster() or ev.one(t.CLUSTER).outputs


def acr_pulls_of(ev: Evaluation) -> list[Registered]:
    """The stack's AcrPull assignments (in a first preview a role may still be unknown: not AcrPull then)."""
    return [a for a in ev.of_type(t.ROLE_ASSIGNMENT) if str(a.inputs["roleDefinitionId"]).endswith(t.ACR_PULL)]


def _registry(ev: Evaluation) -> Mapping:
    """The registry the image is in: the stack's own, or the existing one it only reads (existingRegistry)."""
    if ev.of_type(t.REGISTRY):
        return {"id": ev.one(t.REGISTRY).id, **ev.one(t.REGISTRY).outputs}
    acr_pulls = acr_pulls_of(ev)
    if acr_pulls:
        return ev.world.get(acr_pulls[0].inputs["scope"])
    # grantKubeletAcrPull false: the registry the image is built into, by name.
    name = ev.named("app-image-acr-build").inputs["environment"]["REGISTRY_NAME"]
    (registry,) = [o for rid, o in ev.world.objects.items() if rid.endswith(f"/registries/{name}")]
    return registry


@dataclass(frozen=True)
class VaultSecret:
    id: str
    declared: Registered | None  # None: a secret the vault already held, which the stack only reads (existing)


def _secrets_by_name(ev: Evaluation) -> dict[str, VaultSecret]:
    """The secrets the stack writes, and those it only grants reading (`existing: true`): a grant's scope that the
    vault holds and the stack does not declare."""
    written = {s.inputs["secretName"]: VaultSecret(s.id, s) for s in ev.of_type(t.SECRET)}
    prefix = _vault_id(ev).lower() + "/secrets/"
    scopes = {g.inputs["scope"] for g in ev.of_type(t.ROLE_ASSIGNMENT) if g.inputs["scope"].lower().startswith(prefix)}
    read_only = {
        scope.rsplit("/", 1)[-1]: VaultSecret(ev.world.get(scope)["id"], None)  # the vault must hold it
        for scope in scopes
        if scope.rsplit("/", 1)[-1] not in written
    }
    return read_only | written


def _read_secret(job: Registered) -> str:
    """The secret a Job proves: the one its app is told to read, through the SDK or from the mounted file."""
    env = _env(job)
    return env["SECRET_NAME"] if "SECRET_NAME" in env else env["SECRET_FILE"].rsplit("/", 1)[-1]


def salted_fingerprint(job: Registered, value: str) -> str:
    """What the app reports of `value` with the Job's salt: the fingerprint the Job must expect."""
    return fingerprint(value, _env(job)["FINGERPRINT_SALT"])


def check_federation(ev: Evaluation) -> None:
    """Issuer, subject and audience of each workload's credential match the cluster and each of its Jobs'
    ServiceAccount (the SDK Job's token comes from the webhook, the file Job's from the kubelet for the driver)."""
    issuer = _cluster(ev)["oidcIssuerProfile"]["issuerURL"]
    for w in workloads(ev):
        fic, sa = w.credential, w.service_account.outputs["metadata"]
        assert fic.inputs["issuer"] == issuer, "AADSTS700211: issuer differs from the cluster's OIDC issuer (verbatim)"
        assert w.jobs or not w.grants, f"{w.name}: no Job proves its reads"
        for job in w.jobs:
            pod_sa, job_ns = _pod(job)["serviceAccountName"], job.inputs["metadata"]["namespace"]
            assert pod_sa == sa["name"], f"{job.name} does not run as the federated ServiceAccount"
            assert job_ns == sa["namespace"], f"{job.name} is not in the ServiceAccount's namespace"
            expected_subject = f"system:serviceaccount:{job_ns}:{pod_sa}"
            assert fic.inputs["subject"] == expected_subject, f"AADSTS70021: subject is not {job.name}'s ServiceAccount"
        assert fic.inputs["audiences"] == ["api://AzureADTokenExchange"], "AADSTS70021: wrong audience"
        assert fic.inputs["resourceName"] == w.identity.outputs["name"], "the credential federates another identity"
        assert fic.inputs["resourceGroupName"] == ev.one(t.RESOURCE_GROUP).outputs["name"]
    subjects = [w.credential.inputs["subject"] for w in workloads(ev)]
    assert len(subjects) == len(set(subjects)), "one ServiceAccount federates two identities"


def check_namespace(ev: Evaluation) -> None:
    """Every Kubernetes object in one of the stack's managed namespaces, through that namespace's provider."""
    providers = {p.inputs["namespace"]: p for p in ev.of_type(t.K8S_PROVIDER)}
    managed = {n.outputs["name"] for n in ev.of_type(t.MANAGED_NAMESPACE)}
    objects = [r for r in ev.custom_resources() if r.type.startswith("kubernetes:")]
    assert {r.type for r in objects} >= {t.SERVICE_ACCOUNT, t.JOB, t.NETWORK_POLICY}
    for resource in objects:
        namespace = resource.inputs["metadata"]["namespace"]
        assert namespace in managed, f"{resource.name} is outside the stack's namespaces"
        assert resource.provider.startswith(providers[namespace].urn), f"{resource.name} uses another provider"


def check_service_account_and_pod_label(ev: Evaluation) -> None:
    """The webhook mutates a pod only with the label; it injects the client id from the annotation."""
    for w in workloads(ev):
        annotations = w.service_account.inputs["metadata"].get("annotations", {})
        assert annotations.get("azure.workload.identity/client-id") == w.identity.outputs["clientId"], (
            f"{w.name}: ServiceAccount client-id annotation is not its identity's"
        )
        for job in w.sdk_jobs:  # a file Job's token comes from the kubelet
            labels = job.inputs["spec"]["template"]["metadata"]["labels"]
            assert labels.get("azure.workload.identity/use") == "true", "pod lacks azure.workload.identity/use=true"


def check_roles(ev: Evaluation) -> None:
    """Each workload's identity holds Key Vault Secrets User on exactly the secrets its Jobs read, each at the
    secret's own scope; AcrPull is the kubelet's, on the registry; nobody else holds a data role."""
    secrets = _secrets_by_name(ev)
    by_id = {s.id: name for name, s in secrets.items()}
    identities = set()
    for w in workloads(ev):
        principal = w.identity.outputs["principalId"]
        identities.add(principal)
        granted = set()
        for grant in w.grants:
            role = grant.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
            assert role == t.KEY_VAULT_SECRETS_USER, f"403: {grant.name} is not Key Vault Secrets User"
            assert grant.inputs["principalId"] == principal, f"403: {grant.name} is on another principal"
            assert grant.inputs["scope"] in by_id, f"{grant.name} is not scoped to one secret"
            granted.add(by_id[grant.inputs["scope"]])
        if w.jobs:
            read = {_read_secret(job) for job in w.jobs}
            assert read <= granted, f"403: {w.name} reads {sorted(read - granted)} without a grant"
            assert granted <= read, f"least privilege: {w.name} may read {sorted(granted - read)}, which it never reads"
    for assignment in ev.of_type(t.ROLE_ASSIGNMENT):
        role = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        if role == t.KEY_VAULT_SECRETS_USER:
            assert assignment.inputs["principalId"] in identities, f"{assignment.name}: a data role for a stranger"
    acr_pulls = acr_pulls_of(ev)
    if not acr_pulls and not ev.of_type(t.CLUSTER) and not ev.of_type(t.REGISTRY):
        return  # grantKubeletAcrPull false: the team's kubelet already pulls from the team's registry
    assert len(acr_pulls) == 1, "image pull 401: nobody holds AcrPull"
    kubelet = _cluster(ev)["identityProfile"]["kubeletidentity"]["objectId"]
    assert acr_pulls[0].inputs["principalId"] == kubelet, "image pull 401: AcrPull is not on the kubelet identity"
    assert acr_pulls[0].inputs["scope"] == _registry(ev)["id"], "AcrPull is not scoped to the registry"


def check_job_inputs(ev: Evaluation, values: Mapping[str, str]) -> None:
    """Each SDK Job reads this vault's secret and knows what it should find (`values`: each secret's value);
    its image is this build's."""
    vault, secrets = _vault(ev), _secrets_by_name(ev)
    registry = _registry(ev)["loginServer"]
    for w in workloads(ev):
        for job in w.sdk_jobs:
            env = _env(job)
            assert env["VAULT_URL"] == vault["properties"]["vaultUri"], "the Job reads another vault"
            assert env["SECRET_NAME"] in secrets, "the Job reads a secret the vault does not hold"
            if secrets[env["SECRET_NAME"]].declared is None:
                # The stack never saw the value of a secret it did not write: nothing to expect.
                assert "EXPECTED_SECRET_FINGERPRINT" not in env, "the Job expects a value the stack cannot know"
                continue
            expected = salted_fingerprint(job, values[env["SECRET_NAME"]])
            assert env["EXPECTED_SECRET_FINGERPRINT"] == expected, "the Job would not recognise the stored value"
            assert is_secret(job.raw_inputs["spec"]), "the fingerprint must travel as a secret"
            (container,) = _pod(job)["containers"]
            image = container["image"]
            assert image.startswith(f"{registry}/"), "the image is not from the stack's registry"
            assert "@sha256:" in image, "the image is not pinned by digest"
            assert not image.split("@")[0].endswith(":latest")


def check_job_waits_for_the_chain(ev: Evaluation) -> None:
    """Explicit dependencies: no Job starts before its federation, its grants, its secret and the image; a file
    Job not before its SecretProviderClass, nor that before the API server serves the kind."""
    secrets = _secrets_by_name(ev)
    acr_pulls = acr_pulls_of(ev)
    builds = [r for r in ev.resources if r.type in (t.COMMAND, t.DOCKER_IMAGE) and r.name.startswith("app-image-")]
    build = next(b for b in builds if not b.name.endswith("registry-token"))
    for w in workloads(ev):
        for job in w.jobs:
            read = _read_secret(job)
            assert read in secrets, f"{job.name} reads {read}, which the vault does not hold"
            written = secrets[read].declared
            needed = {
                "federated credential": w.credential,
                "image build": build,
            } | {f"grant {grant.name}": grant for grant in w.grants + acr_pulls}
            if written is not None:
                needed["secret"] = written
            for what, resource in needed.items():
                assert resource.urn in job.dependencies, f"{job.name} does not wait for the {what}"
        spc = w.secret_provider_class
        if spc is None:
            continue
        for file_job in w.file_jobs:
            assert spc.urn in file_job.dependencies, "the file Job does not wait for its SecretProviderClass"
        kind_ready = ev.named(f"{w.name}-secret-provider-class-kind-ready")
        assert kind_ready.urn in spc.dependencies, "the class is created before the API server serves its kind"
        for cluster in ev.of_type(t.CLUSTER):  # an existing cluster's add-on is on already (read_existing_cluster)
            assert cluster.urn in kind_ready.dependencies, "the kind wait does not follow the add-on's enabling"


def check_secret_provider_class(ev: Evaluation) -> None:
    """Each file Job mounts, read-only, its workload's class, in its namespace, that reads exactly the
    workload's secrets from this vault as its identity; the app reads the file the driver writes for it."""
    mounted: set[str] = set()
    for w in workloads(ev):
        for job in w.jobs:
            volumes = [v for v in _pod(job)["volumes"] if "csi" in v]
            assert volumes or "SECRET_FILE" not in _env(job), f"{job.name} reads a file no CSI volume mounts"
            for volume in volumes:
                _check_csi_volume(ev, w, job, volume)
                mounted.add(volume["csi"]["volumeAttributes"]["secretProviderClass"])
    for spc in ev.of_type(t.SECRET_PROVIDER_CLASS):
        assert spc.inputs["metadata"]["name"] in mounted, f"no Job mounts SecretProviderClass {spc.name}"


def _check_csi_volume(ev: Evaluation, w: WorkloadWiring, job: Registered, volume: dict) -> None:
    vault, secrets, pod = _vault(ev), _secrets_by_name(ev), _pod(job)
    assert volume["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert volume["csi"]["readOnly"] is True, "the driver refuses a writable mount (Readonly is not true)"
    classes = [
        c
        for c in ev.of_type(t.SECRET_PROVIDER_CLASS)
        if (c.inputs["metadata"]["name"], c.inputs["metadata"]["namespace"])
        == (volume["csi"]["volumeAttributes"]["secretProviderClass"], job.inputs["metadata"]["namespace"])
    ]
    assert classes, "the class the volume names is not in the pod's namespace"
    (spc,) = classes
    assert spc.inputs["spec"]["provider"] == "azure"
    params = spc.inputs["spec"]["parameters"]
    assert params["usePodIdentity"] == "false", "pod identity mode: no token exchange for the pod"
    assert params["clientID"] == w.identity.outputs["clientId"], "AADSTS70021: the class signs in as another identity"
    assert "tenantId" not in params, "tenantId is deprecated; the provider reads tenantID"
    assert params["tenantID"] == w.identity.outputs["tenantId"], "the class signs in to another tenant"
    assert params["keyvaultName"] == vault["name"], "the class reads another vault"
    objects = [yaml.safe_load(doc) for doc in yaml.safe_load(params["objects"])["array"]]
    granted = {name for name, s in secrets.items() if any(g.inputs["scope"] == s.id for g in w.grants)}
    assert all(o["objectType"] == "secret" for o in objects), "the class mounts a key or certificate"
    assert {o["objectName"] for o in objects} == granted, "the class mounts other secrets than its workload's"
    ((mount,),) = [[m for m in c["volumeMounts"] if m["name"] == volume["name"]] for c in pod["containers"]]
    assert mount["readOnly"] is True
    env = _env(job)
    assert env["SECRET_FILE"].rsplit("/", 1)[0] == mount["mountPath"], "the app reads a file outside the volume"
    assert env["SECRET_FILE"].rsplit("/", 1)[1] in granted, "the app reads a file the class does not write"


ALL_CHECKS = (
    check_federation,
    check_namespace,
    check_service_account_and_pod_label,
    check_roles,
    check_job_waits_for_the_chain,
    check_secret_provider_class,
)
