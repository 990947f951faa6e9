"""secretDelivery: what each mode declares. csi: the AKS add-on, a wait for its kind, the SecretProviderClass and
a file Job that mounts it; sdk: the Job that calls Key Vault; both: both. (Wiring: tests/stack/wiring.py.)"""

from __future__ import annotations

import pytest
import yaml

from tests.stack import constants as t
from tests.stack.harness import TENANT_ID, Evaluation, evaluate

CSI_ADDON = "azureKeyvaultSecretsProvider"


@pytest.fixture(scope="module")
def csi() -> Evaluation:
    return evaluate({"secretDelivery": "csi", "csiRotationPollInterval": "5m"})


def test_the_add_on_runs_with_rotation_at_the_configured_poll_interval(csi: Evaluation) -> None:
    addon = csi.one(t.CLUSTER).inputs["addonProfiles"][CSI_ADDON]
    # Strings, as the add-on's config map takes them (Azure CLI: CONST_SECRET_ROTATION_ENABLED "true").
    assert addon == {"enabled": True, "config": {"enableSecretRotation": "true", "rotationPollInterval": "5m"}}


def test_the_sdk_mode_enables_no_add_on_and_declares_no_class() -> None:
    ev = evaluate({"secretDelivery": "sdk"})
    # Disabled in so many words: AKS keeps an add-on that a PUT leaves out (after a switch back from csi).
    assert ev.one(t.CLUSTER).inputs["addonProfiles"] == {CSI_ADDON: {"enabled": False}}
    assert ev.of_type(t.SECRET_PROVIDER_CLASS) == []
    assert [job.name for job in ev.of_type(t.JOB)] == [t.SDK_JOB]
    assert ev.exports["workloads"]["demo"]["jobNames"] == ["demo-read-demo-secret"]


def test_monitoring_and_csi_add_ons_live_side_by_side() -> None:
    addons = evaluate({"secretDelivery": "both", "monitoring": True}).one(t.CLUSTER).inputs["addonProfiles"]
    assert set(addons) == {"omsagent", CSI_ADDON}


def test_the_csi_mode_has_no_sdk_job_and_no_network_for_its_pod(csi: Evaluation) -> None:
    assert [job.name for job in csi.of_type(t.JOB)] == [t.FILE_JOB]
    assert csi.exports["workloads"]["demo"]["jobNames"] == ["demo-read-file-demo-secret"]
    # The kubelet's driver reads the vault, not the pod: its one NetworkPolicy denies all, both ways.
    (policy,) = csi.of_type(t.NETWORK_POLICY)
    labels = csi.one(t.JOB, t.FILE_JOB).inputs["spec"]["template"]["metadata"]["labels"]
    assert policy.inputs["spec"] == {
        "podSelector": {"matchLabels": labels},
        "policyTypes": ["Ingress", "Egress"],
    }
    assert policy.urn in csi.one(t.JOB, t.FILE_JOB).dependencies


def test_the_class_waits_until_the_api_server_serves_its_kind(csi: Evaluation) -> None:
    wait, spc = csi.named("demo-secret-provider-class-kind-ready"), csi.one(t.SECRET_PROVIDER_CLASS)
    assert wait.inputs["interpreter"][1:] == ["steps/kind_ready.py"]  # relative to infra/, where plugins start
    assert wait.inputs["create"] == "wait"
    environment = wait.inputs["environment"]
    assert environment["GROUP_VERSION"] == "secrets-store.csi.x-k8s.io/v1"
    assert environment["RESOURCE"] == "secretproviderclasses"
    assert environment["NAMESPACE"] == "workload-identity-demo"  # then: may the deployer create one there?
    assert int(environment["TIMEOUT_SECONDS"]) >= 300
    assert environment["HINT"].startswith(
        "Check the add-on: az aks show -g rg-wid-dev -n aks-wid-dev --query addonProfiles.azureKeyvaultSecretsProvider;"
    )
    assert wait.inputs["stdin"] == csi.one(t.K8S_PROVIDER).inputs["kubeconfig"]
    assert wait.raw_inputs["stdin"] != wait.inputs["stdin"], "the kubeconfig travels as a secret"
    assert csi.one(t.CLUSTER).urn in wait.dependencies
    # After the deployer's role and its propagation wait, and again whenever that role is replaced.
    role, rbac_ready = (
        csi.named("namespace-workload-identity-demo-deployer-writer"),
        csi.named("namespace-workload-identity-demo-rbac-ready"),
    )
    assert {role.urn, rbac_ready.urn} <= set(wait.dependencies)
    assert wait.inputs["triggers"] == [role.id]
    assert wait.urn in spc.dependencies


def test_the_class_is_in_workload_identity_mode_for_the_one_secret(csi: Evaluation) -> None:
    spc = csi.one(t.SECRET_PROVIDER_CLASS)
    assert spc.inputs["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert spc.inputs["metadata"] == {"name": "demo-keyvault", "namespace": "workload-identity-demo"}
    parameters = spc.inputs["spec"]["parameters"]
    assert set(parameters) == {"usePodIdentity", "clientID", "keyvaultName", "tenantID", "objects"}
    assert parameters["tenantID"] == TENANT_ID
    assert all(isinstance(v, str) for v in parameters.values()), "the CRD's parameters are a string map"
    (item,) = yaml.safe_load(parameters["objects"])["array"]
    assert yaml.safe_load(item) == {"objectName": "demo-secret", "objectType": "secret", "objectVersion": ""}


def test_a_renamed_secret_reaches_the_class_and_the_file_path() -> None:
    ev = evaluate({"secretDelivery": "csi", "secretName": "team-secret"})
    objects = ev.one(t.SECRET_PROVIDER_CLASS).inputs["spec"]["parameters"]["objects"]
    assert "objectName: team-secret" in objects
    env = ev.one(t.JOB, "demo-team-secret-file-job").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "SECRET_FILE", "value": "/mnt/secrets-store/team-secret"} in env


def test_the_file_job_mounts_the_class_read_only_and_is_as_hardened_as_the_sdk_job(dev: Evaluation) -> None:
    sdk, file = dev.one(t.JOB, t.SDK_JOB).inputs, dev.one(t.JOB, t.FILE_JOB).inputs
    pod = file["spec"]["template"]["spec"]
    assert pod["volumes"][-1] == {
        "name": "secrets-store",
        "csi": {
            "driver": "secrets-store.csi.k8s.io",
            "readOnly": True,
            "volumeAttributes": {"secretProviderClass": "demo-keyvault"},
        },
    }
    (container,) = pod["containers"]
    assert {"name": "secrets-store", "mountPath": "/mnt/secrets-store", "readOnly": True} in container["volumeMounts"]
    assert {e["name"] for e in container["env"]} == {"SECRET_FILE", "EXPECTED_SECRET_FINGERPRINT", "FINGERPRINT_SALT"}
    # No webhook mutation: the kubelet gives the driver the pod's token; the app needs none.
    assert "azure.workload.identity/use" not in file["spec"]["template"]["metadata"]["labels"]
    sdk_pod = sdk["spec"]["template"]["spec"]
    for key in ("securityContext", "automountServiceAccountToken", "serviceAccountName", "restartPolicy"):
        assert pod[key] == sdk_pod[key], key
    assert container["securityContext"] == sdk_pod["containers"][0]["securityContext"]
    assert file["spec"]["activeDeadlineSeconds"] == sdk["spec"]["activeDeadlineSeconds"]
