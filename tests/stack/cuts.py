"""The wires of the chain, and how to cut each: one resource constructor (or one constant) wrapped so
that a single input is wrong, exactly the kind of mistake that surfaces only minutes into a real
deployment. Shared by the cut-wire tests, the policy pack's tests, the offline end-to-end tests and the
rehearsal, which all evaluate a cut through the memo (tests/stack/memo.py), so each cut runs once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_kubernetes as k8s
import pytest
from workload_binding import binding

from tests.stack import wiring
from tests.stack.harness import Evaluation
from tests.stack.memo import Cut
from workload_id import workload


@dataclass(frozen=True)
class WireCut(Cut):
    """A cut, and the wiring check (tests/stack/wiring.py) that must catch it."""

    check: Callable[[Evaluation], None]


def tamper(monkeypatch: pytest.MonkeyPatch, module: Any, cls_name: str, edit: Callable[[str, dict], None]) -> None:
    """Replace module.cls_name with a constructor that lets `edit(name, kwargs)` change the inputs."""
    original = getattr(module, cls_name)

    def constructor(name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs = copy.copy(kwargs)
        edit(name, kwargs)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(module, cls_name, constructor)


def strip_trailing_slash(name: str, kw: dict) -> None:
    kw["issuer"] = pulumi.Output.from_input(kw["issuer"]).apply(lambda s: s.rstrip("/"))


def subject_in_default_namespace(name: str, kw: dict) -> None:
    subject = pulumi.Output.from_input(kw["subject"])
    kw["subject"] = subject.apply(lambda s: s.replace(":workload-identity-demo:", ":default:"))


def wrong_audience(name: str, kw: dict) -> None:
    kw["audiences"] = ["api://AzureADTokenExchangeX"]


def drop_client_id_annotation(name: str, kw: dict) -> None:
    kw["metadata"] = {**kw["metadata"], "annotations": {}}


def job_edit(edit: Callable[[dict], None]) -> Callable[[str, dict], None]:
    def apply(name: str, kw: dict) -> None:
        spec = copy.deepcopy({k: v for k, v in kw["spec"].items() if k != "template"})
        template = kw["spec"]["template"]
        pod = dict(template["spec"])
        spec["template"] = {"metadata": copy.deepcopy(template["metadata"]), "spec": pod}
        edit(spec)
        kw["spec"] = spec

    return apply


def drop_pod_label(spec: dict) -> None:
    spec["template"]["metadata"]["labels"].pop("azure.workload.identity/use", None)


def run_as_default_service_account(spec: dict) -> None:
    spec["template"]["spec"]["service_account_name"] = "default"


def drop_dependency(kind: str) -> Callable[[str, dict], None]:
    def apply(name: str, kw: dict) -> None:
        opts: pulumi.ResourceOptions = kw["opts"]
        declared = opts.depends_on or []
        assert isinstance(declared, list), "the program passes depends_on as a list"
        kept = [d for d in declared if kind not in type(d).__name__]
        kw["opts"] = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions())
        kw["opts"].depends_on = kept

    return apply


def plain_secret_name(spec: dict) -> None:
    (container,) = spec["template"]["spec"]["containers"]
    container["env"] = [
        {"name": e["name"], "value": "demo-secret"} if e["name"] == "SECRET_NAME" else e for e in container["env"]
    ]


def plain_image(spec: dict) -> None:
    (container,) = spec["template"]["spec"]["containers"]
    container["image"] = "acrwiddev.azurecr.io/keyvault-reader-demo:0123456789abcdef@sha256:" + "0" * 64


def both(*edits: Callable[[str, dict], None]) -> Callable[[str, dict], None]:
    def apply(name: str, kw: dict) -> None:
        for edit in edits:
            edit(name, kw)

    return apply


def into_default_namespace(name: str, kw: dict) -> None:
    kw["metadata"] = {**kw["metadata"], "namespace": "default"}


def secrets_user_on_kubelet(name: str, kw: dict) -> None:
    if name.endswith("secrets-user"):
        kw["principal_id"] = "11111111-2222-3333-4444-555555555555"


def secrets_user_on_vault_group(name: str, kw: dict) -> None:
    if name.endswith("secrets-user"):
        kw["scope"] = pulumi.Output.from_input(kw["scope"]).apply(lambda s: s.split("/providers/")[0])


def acr_pull_on_identity(name: str, kw: dict) -> None:
    if name.endswith("kubelet-acrpull"):
        kw["principal_id"] = "11111111-2222-3333-4444-555555555555"


def class_parameters(edit: Callable[[dict], None]) -> Callable[[str, dict], None]:
    """Edit the SecretProviderClass's parameters (the CustomResource's spec)."""

    def apply(name: str, kw: dict) -> None:
        if kw.get("kind") == "SecretProviderClass":
            spec = dict(kw["spec"])
            spec["parameters"] = dict(spec["parameters"])
            edit(spec["parameters"])
            kw["spec"] = spec

    return apply


def another_client_id(parameters: dict) -> None:
    parameters["clientID"] = "11111111-2222-3333-4444-555555555555"


def deprecated_tenant_key(parameters: dict) -> None:
    parameters["tenantId"] = parameters.pop("tenantID")


def another_vault(parameters: dict) -> None:
    parameters["keyvaultName"] = "kv-someone-else"


def another_secret(parameters: dict) -> None:
    parameters["objects"] = "array:\n  - |\n    objectName: other-secret\n    objectType: secret\n"


def drop_csi_volume(spec: dict) -> None:
    pod = spec["template"]["spec"]
    pod["volumes"] = [v for v in pod["volumes"] if "csi" not in v]
    (container,) = pod["containers"]
    container["volume_mounts"] = [m for m in container["volume_mounts"] if m["name"] != "secrets-store"]


def file_job_only(edit: Callable[[dict], None]) -> Callable[[str, dict], None]:
    apply = job_edit(edit)
    return lambda name, kw: apply(name, kw) if name == "demo-demo-secret-file-job" else None


def only_named(job_name: str, edit: Callable[[str, dict], None]) -> Callable[[str, dict], None]:
    return lambda name, kw: edit(name, kw) if name == job_name else None


_CUTS: list[tuple[str, Callable[[pytest.MonkeyPatch], None], Callable[[Evaluation], None]]] = [
    (
        "issuer without trailing slash",
        lambda mp: tamper(mp, managedidentity, "FederatedIdentityCredential", strip_trailing_slash),
        wiring.check_federation,
    ),
    (
        "subject in another namespace",
        lambda mp: tamper(mp, managedidentity, "FederatedIdentityCredential", subject_in_default_namespace),
        wiring.check_federation,
    ),
    (
        "wrong audience",
        lambda mp: tamper(mp, managedidentity, "FederatedIdentityCredential", wrong_audience),
        wiring.check_federation,
    ),
    (
        "audience constant",
        lambda mp: mp.setattr(binding, "TOKEN_EXCHANGE_AUDIENCE", "api://AzureAD"),
        wiring.check_federation,
    ),
    (
        "no client-id annotation",
        lambda mp: tamper(mp, k8s.core.v1, "ServiceAccount", drop_client_id_annotation),
        wiring.check_service_account_and_pod_label,
    ),
    (
        "pod label missing",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", job_edit(drop_pod_label)),
        wiring.check_service_account_and_pod_label,
    ),
    (
        "pod label key typo",
        lambda mp: mp.setattr(workload, "WORKLOAD_IDENTITY_USE_LABEL", "azure.workload.identity/enabled"),
        wiring.check_service_account_and_pod_label,
    ),
    (
        "Job runs as the default ServiceAccount",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", job_edit(run_as_default_service_account)),
        wiring.check_federation,
    ),
    (
        "NetworkPolicy in another namespace",
        lambda mp: tamper(mp, k8s.networking.v1, "NetworkPolicy", into_default_namespace),
        wiring.check_namespace,
    ),
    (
        "Secrets User on another principal",
        lambda mp: tamper(mp, authorization, "RoleAssignment", secrets_user_on_kubelet),
        wiring.check_roles,
    ),
    (
        "Secrets User at resource-group scope",
        lambda mp: tamper(mp, authorization, "RoleAssignment", secrets_user_on_vault_group),
        wiring.check_roles,
    ),
    (
        "AcrPull on another principal",
        lambda mp: tamper(mp, authorization, "RoleAssignment", acr_pull_on_identity),
        wiring.check_roles,
    ),
    (
        "Secrets User role GUID",
        lambda mp: mp.setattr(binding, "KEY_VAULT_SECRETS_USER", "21090545-7ca7-4776-b22c-e363652d74d2"),
        wiring.check_roles,
    ),
    (
        "Job does not wait for the federated credential",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", drop_dependency("FederatedIdentityCredential")),
        wiring.check_job_waits_for_the_chain,
    ),
    (
        "Job does not wait for the role assignments",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", drop_dependency("RoleAssignment")),
        wiring.check_job_waits_for_the_chain,
    ),
    # The secret and the image are also implicit dependencies (the Job uses their outputs):
    # the wire is cut only when both the explicit and the implicit link are gone.
    (
        "Job does not wait for the secret",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", both(job_edit(plain_secret_name), drop_dependency("Secret"))),
        wiring.check_job_waits_for_the_chain,
    ),
    (
        "Job does not wait for the image build",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", both(job_edit(plain_image), drop_dependency("Command"))),
        wiring.check_job_waits_for_the_chain,
    ),
    # The file Job's chain (secretDelivery csi; dev reads both ways).
    (
        "class signs in as another identity",
        lambda mp: tamper(mp, k8s.apiextensions, "CustomResource", class_parameters(another_client_id)),
        wiring.check_secret_provider_class,
    ),
    (
        "class uses the deprecated tenantId key",
        lambda mp: tamper(mp, k8s.apiextensions, "CustomResource", class_parameters(deprecated_tenant_key)),
        wiring.check_secret_provider_class,
    ),
    (
        "class names another vault",
        lambda mp: tamper(mp, k8s.apiextensions, "CustomResource", class_parameters(another_vault)),
        wiring.check_secret_provider_class,
    ),
    (
        "class names another secret",
        lambda mp: tamper(mp, k8s.apiextensions, "CustomResource", class_parameters(another_secret)),
        wiring.check_secret_provider_class,
    ),
    (
        "file Job runs as the default ServiceAccount",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", file_job_only(run_as_default_service_account)),
        wiring.check_federation,
    ),
    (
        "file Job mounts no CSI volume",
        lambda mp: tamper(mp, k8s.batch.v1, "Job", file_job_only(drop_csi_volume)),
        wiring.check_secret_provider_class,
    ),
    (
        "file Job does not wait for the class",
        lambda mp: tamper(
            mp, k8s.batch.v1, "Job", only_named("demo-demo-secret-file-job", drop_dependency("CustomResource"))
        ),
        wiring.check_job_waits_for_the_chain,
    ),
]

# One object per cut: the memo keys an evaluation on the cut's name (tests/stack/memo.py).
CUTS: dict[str, WireCut] = {name: WireCut(name, apply, check) for name, apply, check in _CUTS}


def leak_payments_key_to_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside orders' grant on shared-token, a second one on payments-key: a copy-paste slip in a role module."""
    original = authorization.RoleAssignment

    def constructor(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "orders.shared-token-secrets-user":
            leaked = pulumi.Output.from_input(kwargs["scope"]).apply(
                lambda s: s.replace("shared-token", "payments-key")
            )
            original(f"{name}-leak", *args, **{**kwargs, "scope": leaked})
        return original(name, *args, **kwargs)

    monkeypatch.setattr(authorization, "RoleAssignment", constructor)


# For tests/stack/stacks.py THREE_WORKLOADS: orders may also read payments-key, which only payments is granted.
LEAKED_GRANT = Cut("orders granted payments-key too", leak_payments_key_to_orders)

# Cuts that name the default workload's own objects (its namespace, its file Job): the others apply to every
# workload, and are cut in the three workloads of tests/stack/stacks.py too.
DEMO_ONLY = {
    "subject in another namespace",
    "file Job runs as the default ServiceAccount",
    "file Job mounts no CSI volume",
    "file Job does not wait for the class",
}
