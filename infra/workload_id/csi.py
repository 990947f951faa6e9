"""The secret as a file, for the program's workloads: the SecretProviderClass (built as the binding package
builds one: component/workload_binding/csi.py), created only once the API server serves its kind."""

from __future__ import annotations

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s
from workload_binding.csi import API_VERSION, RESOURCE, class_name, class_spec, mount, volume

from .paths import step

# What a stack with one workload named its class component.
LEGACY_NAME = "secret-provider-class"
# How long the add-on may take to serve its kind after ARM reports it enabled.
KIND_WAIT_SECONDS = 600


class SecretProviderClass(pulumi.ComponentResource):
    """A workload's class: exactly its secrets, read as its identity. Created only once the API server serves
    its kind."""

    def __init__(
        self,
        name: str,
        *,
        workload: str,
        namespace: str,
        client_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        vault_name: pulumi.Input[str],
        secret_names: pulumi.Input[list[str]],
        kubeconfig: pulumi.Input[str],
        cluster_name: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        wait_after: list[pulumi.Resource],
        access_changes: list[pulumi.Input[str]],
        provider: k8s.Provider,
        takes_over: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """takes_over: alias to the one class of a stack that had one workload."""
        aliases = [pulumi.Alias(name=LEGACY_NAME)] if takes_over else None
        super().__init__(
            "workloadid:kubernetes:SecretProviderClass",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)),
        )
        self.class_name = class_name(workload)
        # The add-on installs the CRD after ARM reports it enabled, and pulumi-kubernetes retries a kind it
        # does not know for only about 30 s (provider/pkg/await/await.go, Creation: WithMaxRetries(5)); nor
        # does it retry a 403, which a role that grants custom resources gives while it propagates. Run
        # again whenever that access changes (`access_changes`: the deployer's role assignment).
        self.kind_ready = command.local.Command(
            f"{name}-kind-ready",
            interpreter=step("kind_ready"),
            create="wait",
            environment={
                "GROUP_VERSION": API_VERSION,
                "RESOURCE": RESOURCE,
                "NAMESPACE": namespace,
                "TIMEOUT_SECONDS": str(KIND_WAIT_SECONDS),
                "HINT": pulumi.Output.format(
                    "Check the add-on: az aks show -g {0} -n {1} --query addonProfiles.azureKeyvaultSecretsProvider;"
                    " kubectl get pods -n kube-system -l app=secrets-store-csi-driver",
                    resource_group_name,
                    cluster_name,
                ),
            },
            stdin=kubeconfig,
            triggers=access_changes,
            opts=pulumi.ResourceOptions(parent=self, depends_on=wait_after),
        )
        self.secret_provider_class = k8s.apiextensions.CustomResource(
            name,
            api_version=API_VERSION,
            kind="SecretProviderClass",
            metadata={"name": self.class_name, "namespace": namespace},
            spec=class_spec(client_id=client_id, tenant_id=tenant_id, vault_name=vault_name, secret_names=secret_names),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[self.kind_ready]),
        )
        self.register_outputs({"name": self.class_name})

    def volume(self) -> k8s.core.v1.VolumeArgsDict:
        return volume(self.class_name)

    @staticmethod
    def mount() -> k8s.core.v1.VolumeMountArgsDict:
        return mount()
