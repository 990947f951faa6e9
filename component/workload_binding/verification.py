"""The binding's optional proof: per secret, a Job that runs this repository's app (app/) once as the workload's
ServiceAccount and reads the secret, through the SDK and, with the binding's SecretProviderClass, from the
mounted file. `pulumi up` waits for each Job and fails if a read fails (pulumi-kubernetes awaits a Job's
completion). The values are the caller's, so the Jobs prove the read, not a value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from . import csi
from .jobs import JobTimeouts, PodSpec, deny_all_policy, job_name, reader_job, sdk_egress_policy

WORKLOAD_IDENTITY_USE_LABEL = "azure.workload.identity/use"
DEFAULT_RETRY_BUDGET_SECONDS = 600  # Key Vault role assignments can take up to 10 minutes to apply
# Job names are DNS labels (63): "<serviceAccountName>-verify-read-file-" leaves the secret's part room to be cut.
MAX_SERVICE_ACCOUNT_NAME = 30


def retry_budget_seconds(value: float) -> int:
    """verificationRetryBudgetSeconds as whole seconds: through the schema a number arrives as a float (600.0),
    and pulumi-kubernetes reads `pulumi.com/timeoutSeconds` only as an integer (metadata/overrides.go)."""
    if value != int(value) or not 30 <= value <= 1800:
        raise ValueError(f"verificationRetryBudgetSeconds is {value}, not a whole number of seconds from 30 to 1800")
    return int(value)


@dataclass(frozen=True)
class Verification:
    """What the Jobs run, read and wait for."""

    image: pulumi.Input[str]
    vault_uri: pulumi.Input[str]
    retry_budget_seconds: int
    # The salt of the fingerprint the app logs (letters and digits): public, but unique to the identity.
    salt: pulumi.Input[str]
    after: Sequence[pulumi.Resource]  # the identity's federation, grants and ServiceAccount


def verification_jobs(
    name: str,
    *,
    namespace: str,
    service_account: str,
    secrets: Sequence[str],
    verification: Verification,
    secret_provider_class: k8s.apiextensions.CustomResource | None,
    parent: pulumi.Resource,
) -> list[k8s.batch.v1.Job]:
    """The Jobs, and the NetworkPolicies their pods need: the SDK pods DNS and HTTPS out, the file pods (whose
    kubelet reads the vault) nothing at all."""
    if len(service_account) > MAX_SERVICE_ACCOUNT_NAME:
        raise ValueError(
            f"serviceAccountName {service_account!r} is {len(service_account)} characters; with verificationImage at"
            f" most {MAX_SERVICE_ACCOUNT_NAME} (the Jobs are named after it)"
        )
    child = pulumi.ResourceOptions(parent=parent)
    labels = {"app.kubernetes.io/name": "verify-keyvault-read", "app.kubernetes.io/instance": service_account}
    file_labels = {**labels, "app.kubernetes.io/name": "verify-keyvault-file"}
    egress = sdk_egress_policy(f"{name}-verify-egress", f"{service_account}-verify", namespace, labels, child)
    timeouts = JobTimeouts.for_retry_budget(verification.retry_budget_seconds)
    env = {"FINGERPRINT_SALT": verification.salt, "RETRY_BUDGET_SECONDS": str(verification.retry_budget_seconds)}

    def job(secret: str, *, file: bool, pod: PodSpec, after: list[pulumi.Resource]) -> k8s.batch.v1.Job:
        return reader_job(
            f"{name}-verify-{'file-' if file else ''}{secret}",
            job_name=job_name(f"{service_account}-verify", secret, file=file),
            namespace=namespace,
            service_account_name=service_account,
            image=verification.image,
            pod=pod,
            timeouts=timeouts,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
        )

    jobs = [
        job(
            secret,
            file=False,
            pod=PodSpec(
                labels=labels,
                # The webhook projects the Entra-bound token only into labelled pods.
                pod_labels={WORKLOAD_IDENTITY_USE_LABEL: "true"},
                env={"VAULT_URL": verification.vault_uri, "SECRET_NAME": secret, **env},
            ),
            after=[*verification.after, egress],
        )
        for secret in secrets
    ]
    if secret_provider_class is not None:
        closed = deny_all_policy(
            f"{name}-verify-file-isolation", f"{service_account}-verify", namespace, file_labels, child
        )
        class_name = csi.class_name(service_account)
        jobs += [
            job(
                secret,
                file=True,
                pod=PodSpec(
                    labels=file_labels,
                    pod_labels={},
                    env={"SECRET_FILE": f"{csi.MOUNT_PATH}/{secret}", **env},
                    volumes=[csi.volume(class_name)],
                    mounts=[csi.mount()],
                ),
                after=[*verification.after, closed, secret_provider_class],
            )
            for secret in secrets
        ]
    return jobs
