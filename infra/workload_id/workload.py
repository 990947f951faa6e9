"""The demo on the cluster: ServiceAccount, NetworkPolicy, federated credential and Job."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity

from .identity import WorkloadIdentity
from .naming import federated_credential_name

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
WORKLOAD_IDENTITY_USE_LABEL = "azure.workload.identity/use"
WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
JOB_NAME = "read-keyvault-secret"
APP_LABELS = {"app.kubernetes.io/name": JOB_NAME, "app.kubernetes.io/part-of": "workload-identity-demo"}

# Beyond the app's retry budget: time to schedule, pull the image and start.
JOB_STARTUP_ALLOWANCE_SECONDS = 180
# Beyond the Job's own deadline: Pulumi gives up only after Kubernetes has.
AWAIT_MARGIN_SECONDS = 120
# Long enough to read the logs for a day; afterwards Kubernetes removes the Job (a `pulumi up
# --refresh` then notices and runs it again, which re-checks the chain).
JOB_TTL_SECONDS_AFTER_FINISHED = 86400


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim Kubernetes puts in a ServiceAccount's projected token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class JobTimeouts:
    active_deadline_seconds: int
    await_timeout_seconds: int

    @classmethod
    def for_retry_budget(cls, retry_budget_seconds: int) -> JobTimeouts:
        deadline = retry_budget_seconds + JOB_STARTUP_ALLOWANCE_SECONDS
        return cls(active_deadline_seconds=deadline, await_timeout_seconds=deadline + AWAIT_MARGIN_SECONDS)


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
        image: pulumi.Input[str],
        vault_uri: pulumi.Input[str],
        secret_name: pulumi.Input[str],
        secret_fingerprint: pulumi.Input[str],
        retry_budget_seconds: int,
        job_prerequisites: list[pulumi.Resource],
        provider: k8s.Provider,
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

        self.network_policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-egress",
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
            opts=in_cluster,
        )

        timeouts = JobTimeouts.for_retry_budget(retry_budget_seconds)
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={
                "name": JOB_NAME,
                "namespace": namespace,
                "labels": APP_LABELS,
                "annotations": {
                    # A green `pulumi up` means the Job completed, i.e. the secret was read.
                    "pulumi.com/timeoutSeconds": str(timeouts.await_timeout_seconds),
                    # A Job that failed is replaced on the next `up`, not waited on again.
                    "pulumi.com/replaceUnready": "true",
                },
            },
            spec={
                "backoff_limit": 2,
                "active_deadline_seconds": timeouts.active_deadline_seconds,
                "ttl_seconds_after_finished": JOB_TTL_SECONDS_AFTER_FINISHED,
                # The app retries what is transient; a failed run means a broken wire, so do not
                # run it again - unless the node went away under it.
                "pod_failure_policy": {
                    "rules": [
                        {"action": "Ignore", "on_pod_conditions": [{"type": "DisruptionTarget", "status": "True"}]},
                        {"action": "FailJob", "on_exit_codes": {"operator": "NotIn", "values": [0]}},
                    ]
                },
                "template": {
                    "metadata": {"labels": {**APP_LABELS, WORKLOAD_IDENTITY_USE_LABEL: "true"}},
                    "spec": {
                        "service_account_name": service_account_name,
                        "automount_service_account_token": False,
                        "restart_policy": "Never",
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": 10001,
                            "run_as_group": 10001,
                            "fs_group": 10001,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "app",
                                "image": image,
                                "image_pull_policy": "IfNotPresent",
                                "env": [
                                    {"name": "VAULT_URL", "value": vault_uri},
                                    {"name": "SECRET_NAME", "value": secret_name},
                                    {"name": "EXPECTED_SECRET_FINGERPRINT", "value": secret_fingerprint},
                                    {"name": "RETRY_BUDGET_SECONDS", "value": str(retry_budget_seconds)},
                                ],
                                "security_context": {
                                    "allow_privilege_escalation": False,
                                    "privileged": False,
                                    "read_only_root_filesystem": True,
                                    "run_as_non_root": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"cpu": "500m", "memory": "256Mi"},
                                },
                                "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
                            }
                        ],
                        "volumes": [{"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                # Never start before the whole chain exists: the ServiceAccount, federation, both
                # role assignments, the secret and the image.
                depends_on=[self.service_account, self.federated_credential, self.network_policy, *job_prerequisites],
                # The name is fixed, so a replacement must delete the old Job first.
                delete_before_replace=True,
            ),
        )
        self.job_name = self.job.metadata.apply(lambda m: m.name or "")
        self.job_namespace = self.job.metadata.apply(lambda m: m.namespace or "")
        self.register_outputs(
            {
                "serviceAccount": self.service_account.metadata.apply(lambda m: m.name or ""),
                "subject": self.federated_credential.subject,
                "jobName": self.job_name,
                "jobNamespace": self.job_namespace,
            }
        )
