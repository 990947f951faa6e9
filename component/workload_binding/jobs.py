"""Jobs that prove a workload's reads: one hardened pod that runs the app (app/ of this repository) once, in
either delivery mode, and the NetworkPolicies its pods need. Shared by the binding's verification and the
program's Workload."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

# Beyond the app's retry budget: time to schedule, pull the image and start (and, for a CSI mount,
# the kubelet's retries while a new role assignment propagates).
JOB_STARTUP_ALLOWANCE_SECONDS = 180
# Beyond the Job's own deadline: Pulumi gives up only after Kubernetes has.
AWAIT_MARGIN_SECONDS = 120
# Long enough to read the logs for a day; afterwards Kubernetes removes the Job (a program that refreshes before
# `up`, as this repository's does, then runs it again, re-checking the chain; without a refresh the state keeps it).
JOB_TTL_SECONDS_AFTER_FINISHED = 86400
APP_USER = 10001


@dataclass(frozen=True)
class JobTimeouts:
    active_deadline_seconds: int
    await_timeout_seconds: int

    @classmethod
    def for_retry_budget(cls, retry_budget_seconds: int) -> JobTimeouts:
        deadline = retry_budget_seconds + JOB_STARTUP_ALLOWANCE_SECONDS
        return cls(active_deadline_seconds=deadline, await_timeout_seconds=deadline + AWAIT_MARGIN_SECONDS)


@dataclass(frozen=True)
class PodSpec:
    """What differs between the Jobs: who the pod is, what it is told and what it mounts."""

    labels: Mapping[str, str]
    pod_labels: Mapping[str, str]
    env: Mapping[str, pulumi.Input[str]]
    volumes: Sequence[k8s.core.v1.VolumeArgsDict] = ()
    mounts: Sequence[k8s.core.v1.VolumeMountArgsDict] = ()


def reader_job(
    name: str,
    *,
    job_name: str,
    namespace: str,
    service_account_name: str,
    image: pulumi.Input[str],
    pod: PodSpec,
    timeouts: JobTimeouts,
    opts: pulumi.ResourceOptions,
) -> k8s.batch.v1.Job:
    """A Job whose completion means the secret was read: `pulumi up` waits for it, and a failure fails the up."""
    return k8s.batch.v1.Job(
        name,
        metadata={
            "name": job_name,
            "namespace": namespace,
            "labels": dict(pod.labels),
            "annotations": {
                # A green `pulumi up` means the Job completed, i.e. the secret was read.
                "pulumi.com/timeoutSeconds": str(timeouts.await_timeout_seconds),
                # A Job that is not Complete (it failed, or an interrupted `up` left it running) is replaced on
                # the next `up`, not waited on again.
                "pulumi.com/replaceUnready": "true",
            },
        },
        spec={
            # The app retries what is transient, so a failed run is a broken wire: no second pod, and the Job
            # fails as BackoffLimitExceeded, which (with DeadlineExceeded) is what pulumi-kubernetes fails an
            # update on at once (provider/pkg/await/checker/job/check.go). A FailJob rule's reason,
            # PodFailurePolicy, would leave `up` waiting until its timeout.
            "backoff_limit": 0,
            "active_deadline_seconds": timeouts.active_deadline_seconds,
            "ttl_seconds_after_finished": JOB_TTL_SECONDS_AFTER_FINISHED,
            # A pod the node's disruption (drain, preemption) took does not count: it runs again.
            "pod_failure_policy": {
                "rules": [{"action": "Ignore", "on_pod_conditions": [{"type": "DisruptionTarget", "status": "True"}]}]
            },
            "template": {
                "metadata": {"labels": {**pod.labels, **pod.pod_labels}},
                "spec": _pod_spec(service_account_name, image, pod),
            },
        },
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                # The name is fixed, so a replacement must delete the old Job first.
                delete_before_replace=True,
                # Kubernetes refuses to change a Job's podFailurePolicy (batch validation, ValidateJobSpecUpdate).
                replace_on_changes=["spec.podFailurePolicy"],
            ),
        ),
    )


def _pod_spec(service_account_name: str, image: pulumi.Input[str], pod: PodSpec) -> k8s.core.v1.PodSpecArgsDict:
    return {
        "service_account_name": service_account_name,
        # No Kubernetes API token: the webhook (SDK) or the kubelet (CSI) asks for the Entra-bound one itself.
        "automount_service_account_token": False,
        "restart_policy": "Never",
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": APP_USER,
            "run_as_group": APP_USER,
            "fs_group": APP_USER,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "app",
                "image": image,
                "image_pull_policy": "IfNotPresent",
                "env": [{"name": key, "value": value} for key, value in pod.env.items()],
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
                "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}, *pod.mounts],
            }
        ],
        "volumes": [{"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}, *pod.volumes],
    }


def job_name(workload: str, secret: str, *, file: bool = False) -> str:
    """The Job's Kubernetes name, unique in its namespace: <workload>-read[-file]-<secret>, the secret's part
    cut (with a digest of it) to keep within 63 characters."""
    prefix = f"{workload}-read-file-" if file else f"{workload}-read-"
    room = 63 - len(prefix)
    tail = secret.lower()
    if len(tail) > room:
        digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
        tail = f"{tail[: room - 9].rstrip('-')}-{digest}"
    return prefix + tail


def deny_all_policy(
    name: str, workload: str, namespace: str, labels: Mapping[str, str], opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """The file Jobs' pods: no traffic either way, stated here besides the namespace's default."""
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata={"name": f"{workload}-file-isolation", "namespace": namespace, "labels": dict(labels)},
        # Both types listed with no rules: nothing in, nothing out.
        spec={"pod_selector": {"match_labels": dict(labels)}, "policy_types": ["Ingress", "Egress"]},
        opts=opts,
    )


def sdk_egress_policy(
    name: str, workload: str, namespace: str, labels: Mapping[str, str], opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """The SDK Jobs' way out of the namespace's default deny: DNS, and HTTPS to Entra ID and Key Vault."""
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata={"name": f"{workload}-egress", "namespace": namespace, "labels": dict(labels)},
        spec={
            "pod_selector": {"match_labels": dict(labels)},
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
