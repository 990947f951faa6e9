"""The demo on the cluster: ServiceAccount, federated credential, NetworkPolicy and a Job per delivery mode."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity

from .csi import MOUNT_PATH, SecretProviderClass
from .identity import WorkloadIdentity
from .jobs import JobTimeouts, PodSpec, reader_job
from .naming import federated_credential_name

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
WORKLOAD_IDENTITY_USE_LABEL = "azure.workload.identity/use"
WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
PART_OF = "workload-identity-demo"
JOB_NAME = "read-keyvault-secret"
APP_LABELS = {"app.kubernetes.io/name": JOB_NAME, "app.kubernetes.io/part-of": PART_OF}
FILE_JOB_NAME = "read-keyvault-secret-file"
FILE_APP_LABELS = {"app.kubernetes.io/name": FILE_JOB_NAME, "app.kubernetes.io/part-of": PART_OF}


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim Kubernetes puts in a ServiceAccount's projected token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class SecretRead:
    """What the Jobs read and expect, with which image and how long they retry."""

    image: pulumi.Input[str]
    vault_uri: pulumi.Input[str]
    secret_name: pulumi.Input[str]
    secret_fingerprint: pulumi.Input[str]
    retry_budget_seconds: int


class DemoWorkload(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        namespace: str,
        service_account_name: str,
        identity: WorkloadIdentity,
        resource_group_name: pulumi.Input[str],
        oidc_issuer_url: pulumi.Input[str],
        read: SecretRead,
        job_prerequisites: list[pulumi.Resource],
        provider: k8s.Provider,
        sdk: bool = True,
        csi: SecretProviderClass | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("workloadid:kubernetes:DemoWorkload", name, None, opts)
        # Every object goes through `provider`, which depends on the namespace (and the deployer's
        # role in it): that orders creation after them and deletion before them.
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider)

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={
                "name": service_account_name,
                "namespace": namespace,
                "labels": APP_LABELS,
                "annotations": {WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION: identity.client_id},
            },
            # The Job needs no Kubernetes API token; the webhook projects its own Entra token.
            automount_service_account_token=False,
            opts=in_cluster,
        )

        # Trust exactly this ServiceAccount, as the cluster's issuer names it. The subject comes from
        # the same values that name the namespace and the ServiceAccount, not from the SA object: the
        # credential then waits only for the identity and the issuer, and Entra ID has the whole
        # Kubernetes side of the deployment to propagate it before the Job's first token exchange.
        self.federated_credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=federated_credential_name(namespace, service_account_name),
            resource_name_=identity.name,
            resource_group_name=resource_group_name,
            issuer=oidc_issuer_url,
            subject=service_account_subject(namespace, service_account_name),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self),
        )

        # Never start before the whole chain exists: the ServiceAccount, federation, both role
        # assignments, the secret and the image.
        chain = [self.service_account, self.federated_credential, *job_prerequisites]
        self.read = read
        self.network_policy: k8s.networking.v1.NetworkPolicy | None = None
        self.job: k8s.batch.v1.Job | None = None
        self.file_job: k8s.batch.v1.Job | None = None
        if sdk:
            self.network_policy = _sdk_egress(f"{name}-egress", namespace, in_cluster)
            self.job = self._sdk_job(name, namespace, service_account_name, in_cluster, [*chain, self.network_policy])
        self.file_network_policy: k8s.networking.v1.NetworkPolicy | None = None
        if csi is not None:
            # The kubelet's driver reads the vault, not the pod: it needs no network at all.
            self.file_network_policy = _deny_all(f"{name}-file-isolation", namespace, in_cluster)
            after = [*chain, self.file_network_policy]
            self.file_job = self._file_job(name, namespace, service_account_name, in_cluster, after, csi)
        jobs = [job for job in (self.job, self.file_job) if job is not None]
        self.job_names = pulumi.Output.all(*[job.metadata.apply(lambda m: m.name or "") for job in jobs])
        self.register_outputs(
            {
                "serviceAccount": self.service_account.metadata.apply(lambda m: m.name or ""),
                "subject": self.federated_credential.subject,
                "jobNames": self.job_names,
            }
        )

    def _sdk_job(
        self,
        name: str,
        namespace: str,
        service_account: str,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
    ) -> k8s.batch.v1.Job:
        read = self.read
        pod = PodSpec(
            labels=APP_LABELS,
            # The webhook projects the Entra-bound token and its variables only into labelled pods.
            pod_labels={WORKLOAD_IDENTITY_USE_LABEL: "true"},
            env={
                "VAULT_URL": read.vault_uri,
                "SECRET_NAME": read.secret_name,
                "EXPECTED_SECRET_FINGERPRINT": read.secret_fingerprint,
                "RETRY_BUDGET_SECONDS": str(read.retry_budget_seconds),
            },
        )
        return self._job(f"{name}-job", JOB_NAME, namespace, service_account, pod, opts, after)

    def _file_job(
        self,
        name: str,
        namespace: str,
        service_account: str,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
        csi: SecretProviderClass,
    ) -> k8s.batch.v1.Job:
        """The kubelet mounts the file before the app starts (retrying while the role propagates); the pod
        itself needs no network, and no policy opens any for it."""
        pod = PodSpec(
            labels=FILE_APP_LABELS,
            pod_labels={},
            env={
                "SECRET_FILE": pulumi.Output.concat(MOUNT_PATH, "/", self.read.secret_name),
                "EXPECTED_SECRET_FINGERPRINT": self.read.secret_fingerprint,
            },
            volumes=[csi.volume()],
            mounts=[csi.mount()],
        )
        after = [*after, csi.secret_provider_class]
        return self._job(f"{name}-file-job", FILE_JOB_NAME, namespace, service_account, pod, opts, after)

    def _job(
        self,
        name: str,
        job_name: str,
        namespace: str,
        service_account: str,
        pod: PodSpec,
        opts: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
    ) -> k8s.batch.v1.Job:
        return reader_job(
            name,
            job_name=job_name,
            namespace=namespace,
            service_account_name=service_account,
            image=self.read.image,
            pod=pod,
            timeouts=JobTimeouts.for_retry_budget(self.read.retry_budget_seconds),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after)),
        )


def _deny_all(name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    """The file Job's pods: no traffic either way, stated here besides the namespace's default."""
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata={"name": f"{FILE_JOB_NAME}-isolation", "namespace": namespace, "labels": FILE_APP_LABELS},
        # Both types listed with no rules: nothing in, nothing out.
        spec={"pod_selector": {"match_labels": FILE_APP_LABELS}, "policy_types": ["Ingress", "Egress"]},
        opts=opts,
    )


def _sdk_egress(name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    """The SDK Job's way out of the namespace's default deny: DNS, and HTTPS to Entra ID and Key Vault."""
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata={"name": f"{JOB_NAME}-egress", "namespace": namespace, "labels": APP_LABELS},
        spec={
            "pod_selector": {"match_labels": APP_LABELS},
            # Ingress is listed with no rules: nothing may connect in. (An explicit empty list
            # would not come back from the API server, and every refresh would show a change.)
            "policy_types": ["Ingress", "Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                # Entra ID and Key Vault are public HTTPS endpoints with changing addresses.
                {"ports": [{"protocol": "TCP", "port": 443}]},
            ],
        },
        opts=opts,
    )
