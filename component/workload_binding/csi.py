"""A workload's secrets as files: the SecretProviderClass of the AKS Secrets Store CSI driver add-on, in
workload identity mode, and the pod volume that mounts it.

The driver's Azure provider signs in as the pod: the kubelet hands it a token for the pod's ServiceAccount
with the audience api://AzureADTokenExchange, which it exchanges for the identity named by `clientID`. So
the same federated credential and role serve both delivery modes, and the pod needs no webhook label.
(secrets-store-csi-driver-provider-azure: pkg/provider/provider.go, pkg/auth/auth.go; the Azure docs'
workload-identity-mode page.) Shared by the binding and the program's class.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

API_GROUP = "secrets-store.csi.x-k8s.io"
API_VERSION = f"{API_GROUP}/v1"
RESOURCE = "secretproviderclasses"
CSI_DRIVER = "secrets-store.csi.k8s.io"
MOUNT_PATH = "/mnt/secrets-store"
VOLUME_NAME = "secrets-store"


def objects_parameter(secret_names: list[str]) -> str:
    """The provider's `objects` parameter: a YAML document whose `array` holds one YAML document per
    object (pkg/provider/types StringArray, KeyVaultObject). objectVersion empty: the latest version."""
    return "array:\n" + "".join(
        f'  - |\n    objectName: {name}\n    objectType: secret\n    objectVersion: ""\n' for name in secret_names
    )


def class_name(workload: str) -> str:
    return f"{workload}-keyvault"


def class_spec(
    *,
    client_id: pulumi.Input[str],
    tenant_id: pulumi.Input[str],
    vault_name: pulumi.Input[str],
    secret_names: pulumi.Input[list[str]],
) -> dict[str, object]:
    """Exactly these secrets of this vault, read as this identity."""
    return {
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
    }


def volume(secret_provider_class: str) -> k8s.core.v1.VolumeArgsDict:
    """The pod volume: read-only, as the driver requires ("Readonly is not true in request")."""
    return {
        "name": VOLUME_NAME,
        "csi": {
            "driver": CSI_DRIVER,
            "read_only": True,
            "volume_attributes": {"secretProviderClass": secret_provider_class},
        },
    }


def mount() -> k8s.core.v1.VolumeMountArgsDict:
    return {"name": VOLUME_NAME, "mount_path": MOUNT_PATH, "read_only": True}
