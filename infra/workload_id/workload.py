"""A workload on the cluster: its binding (identity, federated credential, grants, ServiceAccount: the
WorkloadBinding component of component/), NetworkPolicies and, per secret, a Job per delivery mode that
proves the read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from workload_binding import WorkloadBinding
from workload_binding.csi import MOUNT_PATH
from workload_binding.jobs import JobTimeouts, PodSpec, deny_all_policy, job_name, reader_job, sdk_egress_policy
from workload_binding.verification import WORKLOAD_IDENTITY_USE_LABEL

from .csi import SecretProviderClass

PART_OF = "workload-identity-demo"
# The app.kubernetes.io/name of the Jobs' pods, per delivery mode (app.kubernetes.io/instance: the workload).
JOB_NAME = "read-keyvault-secret"
FILE_JOB_NAME = "read-keyvault-secret-file"
# The component type a stack with one workload had (its `demo`).
LEGACY_TYPE = "workloadid:kubernetes:DemoWorkload"


def instance_labels(workload: str) -> dict[str, str]:
    """The labels of a workload's objects: which workload, and that this stack made them."""
    return {"app.kubernetes.io/instance": workload, "app.kubernetes.io/part-of": PART_OF}


@dataclass(frozen=True)
class SecretRead:
    """One secret a workload's Jobs read, and what they expect of it."""

    name: pulumi.Input[str]
    fingerprint: pulumi.Input[str] | None  # None: a secret the stack did not write, whose value it cannot know
    salt: pulumi.Input[str]  # the fingerprint's (the log's fingerprint is salted either way)

    def expectation(self) -> dict[str, pulumi.Input[str]]:
        """The Job's env that lets the app recognise the value: the fingerprint it must find, and the salt."""
        expected = {"EXPECTED_SECRET_FINGERPRINT": self.fingerprint} if self.fingerprint is not None else {}
        return {**expected, "FINGERPRINT_SALT": self.salt}


@dataclass(frozen=True)
class DeniedRead:
    """The isolation check: a secret of the vault this workload was not granted, which its identity must be
    refused (after it read its own), and the workloads that may read it, for the report."""

    name: pulumi.Input[str]
    owners: tuple[str, ...]
    exists: pulumi.Resource | None  # the secret, when the stack writes it: the check reads an existing one


@dataclass(frozen=True)
class JobSettings:
    """What every Job of the stack shares: the image, the vault and how long the app retries."""

    image: pulumi.Input[str]
    vault_uri: pulumi.Input[str]
    retry_budget_seconds: int


class Workload(pulumi.ComponentResource):
    """One app on the cluster: its binding (the identity its ServiceAccount becomes) and per secret a Job that
    proves the read (sdk and/or csi)."""

    def __init__(
        self,
        name: str,
        *,
        namespace: str,
        service_account_name: str,
        binding: WorkloadBinding,
        reads: Mapping[str, SecretRead],
        jobs: JobSettings,
        job_prerequisites: list[pulumi.Resource],
        provider: k8s.Provider,
        sdk: bool = True,
        csi: SecretProviderClass | None = None,
        denied: DeniedRead | None = None,
        takes_over: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """reads: the secrets it reads, by name. denied: the isolation check, when the vault holds a secret this
        workload was not granted. takes_over: alias this component to the `demo` of a stack
        that had one workload (the same name under the component type it had then)."""
        aliases = [pulumi.Alias(type_=LEGACY_TYPE)] if takes_over else None
        super().__init__(
            "workloadid:kubernetes:Workload",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)),
        )
        # Every object goes through `provider`, which depends on the namespace (and the deployer's
        # role in it): that orders creation after them and deletion before them.
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider)
        self._name, self._jobs = name, jobs
        self.binding = binding
        labels = instance_labels(name)
        self._sdk_labels = {"app.kubernetes.io/name": JOB_NAME, **labels}
        self._file_labels = {"app.kubernetes.io/name": FILE_JOB_NAME, **labels}
        self.service_account = binding.service_account
        self.federated_credential = binding.federated_credential

        # Never start before the whole chain exists: the ServiceAccount, federation, the role
        # assignments, the secret and the image.
        chain = [self.service_account, self.federated_credential, *job_prerequisites]
        self.network_policy: k8s.networking.v1.NetworkPolicy | None = None
        self.jobs: dict[str, k8s.batch.v1.Job] = {}
        self.file_jobs: dict[str, k8s.batch.v1.Job] = {}
        if sdk or denied is not None:
            # The SDK Jobs' and the isolation Job's way out: DNS and HTTPS.
            self.network_policy = sdk_egress_policy(f"{name}-egress", name, namespace, self._sdk_labels, in_cluster)
        sdk_after = [*chain, *([self.network_policy] if self.network_policy else [])]
        if sdk:
            for secret, read in reads.items():
                self.jobs[secret] = self._sdk_job(secret, read, namespace, service_account_name, in_cluster, sdk_after)
        self.isolation_job: k8s.batch.v1.Job | None = None
        if denied is not None:
            control = next(iter(reads.values()))
            self.isolation_job = self._isolation_job(
                control,
                denied,
                namespace,
                service_account_name,
                in_cluster,
                [*sdk_after, *([denied.exists] if denied.exists else [])],
            )
        self.file_network_policy: k8s.networking.v1.NetworkPolicy | None = None
        if csi is not None:
            # The kubelet's driver reads the vault, not the pod: it needs no network at all.
            self.file_network_policy = deny_all_policy(
                f"{name}-file-isolation", name, namespace, self._file_labels, in_cluster
            )
            after = [*chain, self.file_network_policy, csi.secret_provider_class]
            for secret, read in reads.items():
                self.file_jobs[secret] = self._file_job(
                    secret, read, namespace, service_account_name, in_cluster, after, csi
                )
        all_jobs = [
            *self.jobs.values(),
            *self.file_jobs.values(),
            *([self.isolation_job] if self.isolation_job else []),
        ]
        self.job_names = pulumi.Output.all(*[job.metadata.apply(lambda m: m.name or "") for job in all_jobs])
        self.register_outputs(
            {
                "serviceAccount": self.service_account.metadata.apply(lambda m: m.name or ""),
                "subject": self.federated_credential.subject,
                "jobNames": self.job_names,
            }
        )

    def _sdk_job(
        self,
        secret: str,
        read: SecretRead,
        namespace: str,
        service_account: str,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
    ) -> k8s.batch.v1.Job:
        pod = self._sdk_pod(read, {})
        name = f"{self._name}-{secret}-job"
        return self._job(name, job_name(self._name, secret), namespace, service_account, pod, opts, after)

    def _sdk_pod(self, read: SecretRead, extra_env: dict[str, pulumi.Input[str]]) -> PodSpec:
        """A pod that reads `read` with the SDK; `extra_env` goes before the retry budget (the order of a
        deployed Job's env, which a reorder would replace)."""
        return PodSpec(
            labels=self._sdk_labels,
            # The webhook projects the Entra-bound token and its variables only into labelled pods.
            pod_labels={WORKLOAD_IDENTITY_USE_LABEL: "true"},
            env={
                "VAULT_URL": self._jobs.vault_uri,
                "SECRET_NAME": read.name,
                **read.expectation(),
                **extra_env,
                "RETRY_BUDGET_SECONDS": str(self._jobs.retry_budget_seconds),
            },
        )

    def _isolation_job(
        self,
        control: SecretRead,
        denied: DeniedRead,
        namespace: str,
        service_account: str,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
    ) -> k8s.batch.v1.Job:
        """Reads one of its own secrets first (its grants have then propagated, and any that leaked with them),
        then must be refused `denied` with 403 ForbiddenByRbac: a read that succeeds fails the up (exit 11)."""
        pod = self._sdk_pod(
            control,
            {
                "DENIED_SECRET_NAME": denied.name,
                "WORKLOAD_NAME": self._name,
                "DENIED_SECRET_OWNERS": ", ".join(denied.owners) or "no workload",
            },
        )
        name = f"{self._name}-isolation-job"
        return self._job(name, f"{self._name}-isolation", namespace, service_account, pod, opts, after)

    def _file_job(
        self,
        secret: str,
        read: SecretRead,
        namespace: str,
        service_account: str,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
        csi: SecretProviderClass,
    ) -> k8s.batch.v1.Job:
        """The kubelet mounts the file before the app starts (retrying while the role propagates); the pod
        itself needs no network, and no policy opens any for it."""
        pod = PodSpec(
            labels=self._file_labels,
            pod_labels={},
            env={
                "SECRET_FILE": pulumi.Output.concat(MOUNT_PATH, "/", read.name),
                **read.expectation(),
            },
            volumes=[csi.volume()],
            mounts=[csi.mount()],
        )
        name = f"{self._name}-{secret}-file-job"
        return self._job(name, job_name(self._name, secret, file=True), namespace, service_account, pod, opts, after)

    def _job(
        self,
        name: str,
        kubernetes_name: str,
        namespace: str,
        service_account: str,
        pod: PodSpec,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
    ) -> k8s.batch.v1.Job:
        return reader_job(
            name,
            job_name=kubernetes_name,
            namespace=namespace,
            service_account_name=service_account,
            image=self._jobs.image,
            pod=pod,
            timeouts=JobTimeouts.for_retry_budget(self._jobs.retry_budget_seconds),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after)),
        )
