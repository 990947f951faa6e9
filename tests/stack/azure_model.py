"""What Azure (and the other providers) answer: realistic outputs for each resource the program
declares, and invokes that read the resources that exist.

`model` gives the outputs a real create returns, in wire names (`issuerURL`, `loginServer`).
`World` is the live estate: a real `up` records into it, and invokes read it exactly as
azure-native's `get*`/`list*` functions read ARM (a GET on the resource id), so an invoke that
runs before its resource exists fails with ResourceNotFound, as it would against Azure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml

from tests.stack.memo import freeze

SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEPLOYER_OBJECT_ID = "d3b07384-d9a0-4c9b-8f1e-0a1b2c3d4e5f"
AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the AKS AAD server app, same in every tenant
AKS_CLI_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
# When the tests' first `up` runs; a World's clock starts here.
DEPLOYED_AT = datetime(2026, 11, 24, tzinfo=UTC)
TIME_ROTATING = "time:index/rotating:Rotating"
TIME_STATIC = "time:index/static:Static"
# The patch version AKS picks when no version (or a minor alias) is given.
AKS_PATCH_VERSION = "1.34.2"


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def exec_kubeconfig(cluster: str, server: str) -> str:
    """What AKS's listClusterUserCredential(format=exec) returns (base64 of this YAML)."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": "Q0E="}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{cluster}"}}],
        "current-context": cluster,
        "users": [
            {
                "name": f"clusterUser_{cluster}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--environment",
                            "AzurePublicCloud",
                            "--server-id",
                            AKS_SERVER_ID,
                            "--client-id",
                            AKS_CLI_CLIENT_ID,
                            "--tenant-id",
                            TENANT_ID,
                            "--login",
                            "devicecode",
                        ],
                        "env": None,
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }
    return base64.b64encode(yaml.safe_dump(document).encode()).decode()


def admin_kubeconfig(cluster: str, server: str) -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": f"clusterAdmin_{cluster}", "user": {"client-certificate-data": "Q0VSVA==", "token": "t"}}],
    }
    return base64.b64encode(yaml.safe_dump(document).encode()).decode()


def arm_id(resource_group: str, provider_type: str, *names: str) -> str:
    """/subscriptions/<sub>/resourceGroups/<rg>/providers/<Namespace/type>/<name>[/<child type>/<name>]..."""
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{resource_group}/providers/{provider_type}/" + "/".join(
        names
    )


def _cluster(rg: str, plain: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, dict[str, Any]]]:
    cluster = plain["resourceName"]
    location = plain["location"]
    node_group = f"MC_{rg}_{cluster}_{location}"
    egress_ip_id = arm_id(node_group, "Microsoft.Network/publicIPAddresses", stable_uuid("egress", cluster))
    address = int(hashlib.sha256(egress_ip_id.encode()).hexdigest()[:4], 16)
    # A version given as a minor alias stays as given; none given reads back as the full patch.
    version = plain.get("kubernetesVersion") or AKS_PATCH_VERSION
    outputs = {
        "name": cluster,
        "location": location,
        "kubernetesVersion": version,
        "currentKubernetesVersion": AKS_PATCH_VERSION,
        "fqdn": f"{cluster}-abcd1234.hcp.{location}.azmk8s.io",
        "agentPoolProfiles": [
            {**pool, "orchestratorVersion": version, "currentOrchestratorVersion": AKS_PATCH_VERSION}
            for pool in plain.get("agentPoolProfiles", [])
        ],
        "oidcIssuerProfile": {
            "enabled": True,
            # Azure returns the issuer with a trailing slash; it must be used verbatim.
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{stable_uuid('issuer', cluster)}/",
        },
        "identityProfile": {
            "kubeletidentity": {
                "clientId": stable_uuid("kubelet-client", cluster),
                "objectId": stable_uuid("kubelet-object", cluster),
                "resourceId": arm_id(
                    node_group, "Microsoft.ManagedIdentity/userAssignedIdentities", f"{cluster}-agentpool"
                ),
            }
        },
        "networkProfile": {
            **plain.get("networkProfile", {}),
            "loadBalancerProfile": {"effectiveOutboundIPs": [{"id": egress_ip_id}]},
        },
        "identity": {
            "type": "SystemAssigned",
            "principalId": stable_uuid("cluster-principal", cluster),
            "tenantId": TENANT_ID,
        },
    }
    public_ip = {"name": egress_ip_id.rsplit("/", 1)[-1], "ipAddress": f"20.78.{address // 256}.{address % 256}"}
    return arm_id(rg, "Microsoft.ContainerService/managedClusters", cluster), outputs, {egress_ip_id: public_ip}


def model(
    typ: str, name: str, plain: Mapping[str, Any], now: datetime = DEPLOYED_AT
) -> tuple[str, dict[str, Any], dict[str, dict[str, Any]]]:
    """(id, outputs, other live objects it brings) of a create with these (plain) inputs, at time `now`.

    Outputs echo the inputs, as providers do, plus what the service computes."""
    rg = plain.get("resourceGroupName", "rg")
    outputs: dict[str, Any] = dict(plain)
    extra: dict[str, dict[str, Any]] = {}

    if typ == "azure-native:resources:ResourceGroup":
        rid = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{plain['resourceGroupName']}"
        outputs["name"] = plain["resourceGroupName"]
    elif typ == "random:index/randomString:RandomString":
        rid = name
        outputs["result"] = hashlib.sha256(name.encode()).hexdigest()[: int(plain["length"])]
    elif typ == "random:index/randomPassword:RandomPassword":
        rid = name
        # A new value for each set of keepers: the provider replaces the password when they change.
        seed = name + (json.dumps(plain["keepers"], sort_keys=True) if plain.get("keepers") else "")
        outputs["result"] = "Mock" + hashlib.sha256(seed.encode()).hexdigest()[: int(plain["length"]) - 4]
    elif typ in (TIME_ROTATING, TIME_STATIC):
        rid, computed = _time(typ, plain, now)
        outputs |= computed
    elif typ == "azure-native:containerregistry:Registry":
        registry = plain["registryName"]
        rid = arm_id(rg, "Microsoft.ContainerRegistry/registries", registry)
        outputs |= {"name": registry, "loginServer": f"{registry}.azurecr.io"}
    elif typ == "azure-native:keyvault:Vault":
        vault = plain["vaultName"]
        rid = arm_id(rg, "Microsoft.KeyVault/vaults", vault)
        outputs["name"] = vault
        outputs["properties"] = {**plain["properties"], "vaultUri": f"https://{vault}.vault.azure.net/"}
    elif typ == "azure-native:keyvault:Secret":
        vault, secret = plain["vaultName"], plain["secretName"]
        rid = arm_id(rg, "Microsoft.KeyVault/vaults", vault, "secrets", secret)
        outputs["name"] = secret
        # ARM never returns a secret's value.
        outputs["properties"] = {
            **{k: v for k, v in plain["properties"].items() if k != "value"},
            "secretUri": f"https://{vault}.vault.azure.net/secrets/{secret}",
            "secretUriWithVersion": f"https://{vault}.vault.azure.net/secrets/{secret}/0123456789abcdef",
        }
    elif typ == "azure-native:containerservice:ManagedCluster":
        rid, computed, extra = _cluster(rg, plain)
        outputs |= computed
    elif typ == "azure-native:containerservice:ManagedNamespace":
        namespace = plain["managedNamespaceName"]
        rid = arm_id(
            rg, "Microsoft.ContainerService/managedClusters", plain["resourceName"], "managedNamespaces", namespace
        )
        outputs["name"] = namespace
    elif typ == "azure-native:managedidentity:UserAssignedIdentity":
        identity = plain["resourceName"]
        rid = arm_id(rg, "Microsoft.ManagedIdentity/userAssignedIdentities", identity)
        outputs |= {
            "name": identity,
            "clientId": stable_uuid("client", identity),
            "principalId": stable_uuid("principal", identity),
            "tenantId": TENANT_ID,
        }
    elif typ == "azure-native:managedidentity:FederatedIdentityCredential":
        credential = plain["federatedIdentityCredentialResourceName"]
        rid = arm_id(
            rg,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            plain["resourceName"],
            "federatedIdentityCredentials",
            credential,
        )
        outputs["name"] = credential
    elif typ == "azure-native:authorization:RoleAssignment":
        assignment = stable_uuid("role", plain["scope"], plain["principalId"], plain["roleDefinitionId"])
        rid = f"{plain['scope']}/providers/Microsoft.Authorization/roleAssignments/{assignment}"
        outputs["name"] = assignment
    elif typ == "azure-native:operationalinsights:Workspace":
        rid = arm_id(rg, "Microsoft.OperationalInsights/workspaces", name)
        outputs |= {"name": name, "customerId": stable_uuid("workspace", name)}
    elif typ == "azure-native:monitor:DataCollectionRule":
        rid = arm_id(rg, "Microsoft.Insights/dataCollectionRules", name)
        outputs["name"] = name
    elif typ == "azure-native:monitor:DataCollectionRuleAssociation":
        rid = f"{plain['resourceUri']}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{name}"
        outputs["name"] = plain["associationName"]
    elif typ == "command:local:Command":
        rid = name
        outputs |= {"stdout": _command_stdout(plain), "stderr": ""}
    elif typ == "docker-build:index:Image":
        rid = name
        digest = "sha256:" + hashlib.sha256(str(plain["tags"]).encode()).hexdigest()
        outputs |= {"digest": digest, "ref": f"{plain['tags'][0]}@{digest}"}
    elif typ.startswith("kubernetes:"):
        metadata = dict(plain.get("metadata") or {})
        metadata.setdefault("name", f"{name}-0a1b2c3d")
        # The object as the API server stores and returns it.
        outputs = api_server_view({**plain, "metadata": metadata})
        rid = f"{metadata.get('namespace', '')}/{metadata['name']}".lstrip("/")
    else:
        rid = f"{name}-id"
    return rid, outputs, extra


def rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(typ: str, plain: Mapping[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
    """pulumiverse-time (terraform-provider-time v0.12.1): the id and `rfc3339` are the time of creation;
    a Rotating's `rotationRfc3339` is that plus the period, and its `unix` is the rotation time's
    (resource_time_rotating.go setRotationValues; resource_time_static.go Create)."""
    at = now
    if typ == TIME_ROTATING:
        at = now + timedelta(days=int(plain["rotationDays"]))
        return rfc3339(now), {"rfc3339": rfc3339(now), "rotationRfc3339": rfc3339(at), "unix": int(at.timestamp())}
    return rfc3339(now), {"rfc3339": rfc3339(now), "unix": int(at.timestamp())}


def _command_stdout(plain: Mapping[str, Any]) -> str:
    env = plain.get("environment") or {}
    if "IMAGE_TAG" in env:  # ACR Tasks build: prints the pushed digest
        return "sha256:" + hashlib.sha256(env["IMAGE_TAG"].encode()).hexdigest()
    if str(plain.get("create", "")).endswith("acr-token.sh"):
        return "eyJhbGciOiJSUzI1NiJ9.mock-acr-access-token"
    return "ok"


_QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL = {"m": Decimal("0.001"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12)}


def canonical_quantity(text: str) -> str:
    """A Kubernetes quantity as the API server writes it back (apimachinery resource.Quantity
    CanonicalizeBytes): binary suffixes stay binary at the largest exact unit; decimal amounts
    become whole units or milli-units."""
    match = _QUANTITY.match(text)
    if not match:
        return text
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        amount = number * _BINARY[suffix]
        for unit, size in sorted(_BINARY.items(), key=lambda u: -u[1]):
            if amount % size == 0 and amount >= size:
                return f"{int(amount // size)}{unit}"
        return str(int(amount))
    amount = number * _DECIMAL.get(suffix, Decimal(1))
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{int(amount * 1000)}m"


def api_server_view(value: Any, key: str = "", in_quantities: bool = False) -> Any:
    """The object as the API server stores and returns it: empty collections omitted, quantities canonical."""
    if isinstance(value, dict):
        view = {k: api_server_view(v, k, in_quantities or k in {"requests", "limits"}) for k, v in value.items()}
        return {k: v for k, v in view.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [api_server_view(v, key, in_quantities) for v in value]
    if isinstance(value, str) and (in_quantities or key == "sizeLimit"):
        return canonical_quantity(value)
    return value


def prune(live: Any, shape: Any) -> Any:
    """The live object cut to the shape of the old inputs (keys the inputs never had are dropped)."""
    if isinstance(live, dict) and isinstance(shape, dict):
        return {k: prune(live[k], shape[k]) for k in shape if k in live}
    if isinstance(live, list) and isinstance(shape, list):
        return [prune(v, s) for v, s in zip(live, shape, strict=False)] + live[len(shape) :]
    return live


class ResourceNotFound(Exception):
    """ARM's 404, as azure-native reports it for an invoke on a resource that does not exist."""


@dataclass(frozen=True)
class World:
    """The live Azure estate, by ARM id: what invokes read. A run records into its own copy."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    now: datetime = DEPLOYED_AT
    # Who runs the program: the principal azure-native signs in as (getClientConfig's objectId).
    client_object_id: str = DEPLOYER_OBJECT_ID
    # The Kubernetes objects the cluster holds, by "<type token> <namespace>/<name>".
    cluster_objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def copy(self, later: timedelta = timedelta(), client_object_id: str | None = None) -> World:
        return World(
            dict(self.objects), self.now + later, client_object_id or self.client_object_id, dict(self.cluster_objects)
        )

    def frozen(self) -> World:
        return World(freeze(self.objects), self.now, self.client_object_id, freeze(self.cluster_objects))

    def get(self, rid: str) -> dict[str, Any]:
        found = {k.lower(): v for k, v in self.objects.items()}.get(rid.lower())  # ARM ids are case-insensitive
        if found is None:
            raise ResourceNotFound(f"(ResourceNotFound) The Resource '{rid}' was not found. Code: ResourceNotFound")
        return found

    def call(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """An invoke, served from the live estate (azure-native: a GET or POST on the resource id)."""
        rg = args.get("resourceGroupName", "")
        if token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                "objectId": self.client_object_id,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }
        if token == "azure-native:containerservice:getManagedCluster":
            return self.get(arm_id(rg, "Microsoft.ContainerService/managedClusters", args["resourceName"]))
        if token in (
            "azure-native:containerservice:listManagedClusterUserCredentials",
            "azure-native:containerservice:listManagedClusterAdminCredentials",
        ):
            cluster = args["resourceName"]
            fqdn = self.get(arm_id(rg, "Microsoft.ContainerService/managedClusters", cluster))["fqdn"]
            server = f"https://{fqdn}:443"
            user = token.endswith("UserCredentials")
            value = exec_kubeconfig(cluster, server) if user else admin_kubeconfig(cluster, server)
            return {"kubeconfigs": [{"name": "clusterUser" if user else "clusterAdmin", "value": value}]}
        if token == "azure-native:network:getPublicIPAddress":
            return self.get(arm_id(rg, "Microsoft.Network/publicIPAddresses", args["publicIpAddressName"]))
        if token == "azure-native:keyvault:getVault":
            return self.get(arm_id(rg, "Microsoft.KeyVault/vaults", args["vaultName"]))
        if token == "azure-native:keyvault:getSecret":
            return self.get(arm_id(rg, "Microsoft.KeyVault/vaults", args["vaultName"], "secrets", args["secretName"]))
        if token == "azure-native:containerregistry:getRegistry":
            return self.get(arm_id(rg, "Microsoft.ContainerRegistry/registries", args["registryName"]))
        if token == "azure-native:managedidentity:getUserAssignedIdentity":
            return self.get(arm_id(rg, "Microsoft.ManagedIdentity/userAssignedIdentities", args["resourceName"]))
        raise AssertionError(f"unexpected invoke {token}")
