"""The secret as a file: a SecretProviderClass for the AKS Secrets Store CSI driver add-on, in workload
identity mode, and the pod volume that mounts it.

The driver's Azure provider signs in as the pod: the kubelet hands it a token for the pod's ServiceAccount
with the audience api://AzureADTokenExchange, which it exchanges for the identity named by `clientID`. So
the same federated credential and role serve both delivery modes, and the pod needs no webhook label.
(secrets-store-csi-driver-provider-azure: pkg/provider/provider.go, pkg/auth/auth.go; the Azure docs'
workload-identity-mode page.)
"""

from __future__ import annotations

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from .paths import step

API_GROUP = "secrets-store.csi.x-k8s.io"
API_VERSION = f"{API_GROUP}/v1"
RESOURCE = "secretproviderclasses"
CSI_DRIVER = "secrets-store.csi.k8s.io"
# What a stack with one workload named its class component.
LEGACY_NAME = "secret-provider-class"
MOUNT_PATH = "/mnt/secrets-store"
VOLUME_NAME = "secrets-store"
# How long the add-on may take to serve its kind after ARM reports it enabled.
KIND_WAIT_SECONDS = 600


def objects_parameter(secret_names: list[str]) -> str:
    """The provider's `objects` parameter: a YAML document whose `array` holds one YAML document per
    object (pkg/provider/types StringArray, KeyVaultObject). objectVersion empty: the latest version."""
    return "array:\n" + "".join(
        f'  - |\n    objectName: {name}\n    objectType: secret\n    objectVersion: ""\n' for name in secret_names
    )


def class_name(workload: str) -> str:
    return f"{workload}-keyvault"


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
            spec={
                "provider": "azure",
                "parameters": {
                    # Workload identity: the pod's own federated token, exchanged for this client id.
                    "usePodIdentity": "false",
                    "clientID": client_id,
                    "keyvaultName": vault_name,
                    # tenantID: the provider's spelling since v1.2 ("tenantId is deprecated").
                    "tenantID": tenant_id,
                    "objects": pulumi.Output.from_input(secret_names).apply(objects_parameter),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[self.kind_ready]),
        )
        self.register_outputs({"name": self.class_name})

    def volume(self) -> k8s.core.v1.VolumeArgsDict:
        """The pod volume: read-only, as the driver requires ("Readonly is not true in request")."""
        return {
            "name": VOLUME_NAME,
            "csi": {
                "driver": CSI_DRIVER,
                "read_only": True,
                "volume_attributes": {"secretProviderClass": self.class_name},
            },
        }

    @staticmethod
    def mount() -> k8s.core.v1.VolumeMountArgsDict:
        return {"name": VOLUME_NAME, "mount_path": MOUNT_PATH, "read_only": True}
