"""Evaluate the real Pulumi program (infra/__main__.py) under mocks and record everything.

The stock mock monitor keeps only inputs and outputs; this one also keeps what a
reviewer needs to check the wiring: parent, explicit and per-property dependencies,
provider, delete-before-replace, requested additional secret outputs and every invoke.
"""

from __future__ import annotations

import base64
import hashlib
import json
import runpy
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "__main__.py"
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]

# Pulumi runs runpy.run_path("infra/"), which puts infra/ on sys.path; do the same here so
# the program's imports resolve identically under pytest and from plain `python -m`.
if str(ROOT / "infra") not in sys.path:
    sys.path.insert(0, str(ROOT / "infra"))

SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEPLOYER_OBJECT_ID = "d3b07384-d9a0-4c9b-8f1e-0a1b2c3d4e5f"
AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the AKS AAD server app, same in every tenant
AKS_CLI_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def unwrap(value: Any) -> Any:
    """Inputs arrive with secrets wrapped in Pulumi's secret signature; strip it recursively."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


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


class AzureMocks(pulumi.runtime.Mocks):
    """Realistic provider answers: ARM ids, issuerURL, kubelet identity, client/principal ids."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        plain = unwrap(inputs)
        rg = plain.get("resourceGroupName", "rg")
        arm = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers"
        state: dict[str, Any] = dict(inputs)

        if typ == "azure-native:resources:ResourceGroup":
            rid = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{plain['resourceGroupName']}"
            state["name"] = plain["resourceGroupName"]
        elif typ == "random:index/randomString:RandomString":
            rid = name
            state["result"] = hashlib.sha256(name.encode()).hexdigest()[: int(plain["length"])]
        elif typ == "random:index/randomPassword:RandomPassword":
            rid = name
            state["result"] = "Mock" + hashlib.sha256(name.encode()).hexdigest()[: int(plain["length"]) - 4]
        elif typ == "azure-native:containerregistry:Registry":
            reg = plain["registryName"]
            rid = f"{arm}/Microsoft.ContainerRegistry/registries/{reg}"
            state |= {"name": reg, "loginServer": f"{reg}.azurecr.io"}
        elif typ == "azure-native:keyvault:Vault":
            vault = plain["vaultName"]
            rid = f"{arm}/Microsoft.KeyVault/vaults/{vault}"
            state["name"] = vault
            state["properties"] = {**plain["properties"], "vaultUri": f"https://{vault}.vault.azure.net/"}
        elif typ == "azure-native:keyvault:Secret":
            vault, secret = plain["vaultName"], plain["secretName"]
            rid = f"{arm}/Microsoft.KeyVault/vaults/{vault}/secrets/{secret}"
            state["name"] = secret
            state["properties"] = {
                "secretUri": f"https://{vault}.vault.azure.net/secrets/{secret}",
                "secretUriWithVersion": f"https://{vault}.vault.azure.net/secrets/{secret}/0123456789abcdef",
            }
        elif typ == "azure-native:containerservice:ManagedCluster":
            cluster = plain["resourceName"]
            rid = f"{arm}/Microsoft.ContainerService/managedClusters/{cluster}"
            kubelet_name = f"{cluster}-agentpool"
            state |= {
                "name": cluster,
                "fqdn": f"{cluster}-abcd1234.hcp.{plain['location']}.azmk8s.io",
                "oidcIssuerProfile": {
                    "enabled": True,
                    # Azure returns the issuer with a trailing slash; it must be used verbatim.
                    "issuerURL": f"https://{plain['location']}.oic.prod-aks.azure.com/{TENANT_ID}/"
                    f"{stable_uuid('issuer', cluster)}/",
                },
                "identityProfile": {
                    "kubeletidentity": {
                        "clientId": stable_uuid("kubelet-client", cluster),
                        "objectId": stable_uuid("kubelet-object", cluster),
                        "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/MC_{rg}_{cluster}"
                        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{kubelet_name}",
                    }
                },
                "networkProfile": {
                    **plain.get("networkProfile", {}),
                    "loadBalancerProfile": {
                        "effectiveOutboundIPs": [
                            {
                                "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/MC_{rg}_{cluster}_"
                                f"{plain['location']}/providers/Microsoft.Network/publicIPAddresses/"
                                f"{stable_uuid('egress', cluster)}"
                            }
                        ]
                    },
                },
                "identity": {
                    "type": "SystemAssigned",
                    "principalId": stable_uuid("cluster-principal", cluster),
                    "tenantId": TENANT_ID,
                },
            }
        elif typ == "azure-native:containerservice:ManagedNamespace":
            ns = plain["managedNamespaceName"]
            rid = f"{arm}/Microsoft.ContainerService/managedClusters/{plain['resourceName']}/managedNamespaces/{ns}"
            state["name"] = ns
        elif typ == "azure-native:managedidentity:UserAssignedIdentity":
            identity = plain["resourceName"]
            rid = f"{arm}/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}"
            state |= {
                "name": identity,
                "clientId": stable_uuid("client", identity),
                "principalId": stable_uuid("principal", identity),
                "tenantId": TENANT_ID,
            }
        elif typ == "azure-native:managedidentity:FederatedIdentityCredential":
            fic = plain["federatedIdentityCredentialResourceName"]
            rid = (
                f"{arm}/Microsoft.ManagedIdentity/userAssignedIdentities/{plain['resourceName']}"
                f"/federatedIdentityCredentials/{fic}"
            )
            state["name"] = fic
        elif typ == "azure-native:authorization:RoleAssignment":
            assignment = stable_uuid("role", plain["scope"], plain["principalId"], plain["roleDefinitionId"])
            rid = f"{plain['scope']}/providers/Microsoft.Authorization/roleAssignments/{assignment}"
            state["name"] = assignment
        elif typ == "azure-native:operationalinsights:Workspace":
            rid = f"{arm}/Microsoft.OperationalInsights/workspaces/{name}"
            state |= {"name": name, "customerId": stable_uuid("workspace", name)}
        elif typ == "azure-native:monitor:DataCollectionRule":
            rid = f"{arm}/Microsoft.Insights/dataCollectionRules/{name}"
            state["name"] = name
        elif typ == "azure-native:monitor:DataCollectionRuleAssociation":
            rid = f"{plain['resourceUri']}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{name}"
            state["name"] = plain["associationName"]
        elif typ == "command:local:Command":
            rid = name
            env = plain.get("environment") or {}
            if "EXPIRY_DAYS" in env:  # now + N days, as Unix time (now = 2026-11-24T00:00:00Z)
                state["stdout"] = str(1_795_478_400 + int(env["EXPIRY_DAYS"]) * 86400)
            elif "IMAGE_TAG" in env:  # ACR Tasks build: prints the pushed digest
                state["stdout"] = "sha256:" + hashlib.sha256(env["IMAGE_TAG"].encode()).hexdigest()
            elif str(plain.get("create", "")).endswith("acr-token.sh"):
                state["stdout"] = "eyJhbGciOiJSUzI1NiJ9.mock-acr-access-token"
            else:
                state["stdout"] = "ok"
            state["stderr"] = ""
        elif typ == "docker-build:index:Image":
            rid = name
            digest = "sha256:" + hashlib.sha256(str(plain["tags"]).encode()).hexdigest()
            state |= {"digest": digest, "ref": f"{plain['tags'][0]}@{digest}"}
        elif typ.startswith("kubernetes:"):
            metadata = dict(plain.get("metadata") or {})
            metadata.setdefault("name", f"{name}-0a1b2c3d")
            state["metadata"] = metadata
            rid = f"{metadata.get('namespace', '')}/{metadata['name']}".lstrip("/")
        else:
            rid = f"{name}-id"
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        plain = unwrap(dict(args.args))
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                "objectId": DEPLOYER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }, []
        if args.token in (
            "azure-native:containerservice:listManagedClusterUserCredentials",
            "azure-native:containerservice:listManagedClusterAdminCredentials",
        ):
            cluster = plain["resourceName"]
            server = f"https://{cluster}-abcd1234.hcp.japaneast.azmk8s.io:443"
            value = (
                exec_kubeconfig(cluster, server)
                if args.token.endswith("UserCredentials")
                else admin_kubeconfig(cluster, server)
            )
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}, []
        if args.token == "azure-native:network:getPublicIPAddress":
            address = int(hashlib.sha256(plain["publicIpAddressName"].encode()).hexdigest()[:4], 16)
            return {"name": plain["publicIpAddressName"], "ipAddress": f"20.78.{address // 256}.{address % 256}"}, []
        raise AssertionError(f"unexpected invoke {args.token}")


@dataclass
class Registered:
    urn: str
    id: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]  # secrets unwrapped
    raw_inputs: dict[str, Any]  # secrets still wrapped
    outputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    delete_before_replace: bool
    retain_on_delete: bool
    additional_secret_outputs: list[str]


@dataclass
class Evaluation:
    resources: list[Registered]
    invokes: list[str]
    exports: dict[str, Any]
    secret_exports: set[str]
    by_urn: dict[str, Registered] = field(init=False)

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def custom_resources(self) -> Iterator[Registered]:
        return (r for r in self.resources if r.custom)

    def all_dependencies(self, resource: Registered) -> set[str]:
        deps = set(resource.dependencies)
        for urns in resource.property_dependencies.values():
            deps |= set(urns)
        return deps

    def depends_transitively(self, resource: Registered, target: Registered) -> bool:
        seen: set[str] = set()
        stack = list(self.all_dependencies(resource))
        while stack:
            urn = stack.pop()
            if urn == target.urn:
                return True
            if urn in seen or urn not in self.by_urn:
                continue
            seen.add(urn)
            stack.extend(self.all_dependencies(self.by_urn[urn]))
        return False

    def inputs_by_urn(self) -> dict[str, dict[str, Any]]:
        return {r.urn: r.inputs for r in self.resources}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.invokes: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
            urn = response.urn
            registration = self.resources.get(urn)
            self.registered.append(
                Registered(
                    urn=urn,
                    id=response.id,
                    type=request.type,
                    name=request.name,
                    custom=request.custom,
                    inputs=unwrap(dict(raw)),
                    raw_inputs=dict(raw),
                    outputs=unwrap(dict(registration.state)) if registration else {},
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                    provider=request.provider,
                    delete_before_replace=request.deleteBeforeReplace,
                    retain_on_delete=request.retainOnDelete,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                )
            )
        return response

    def Invoke(self, request: Any) -> Any:
        self.invokes.append(request.tok)
        return super().Invoke(request)


class EvaluationFailed(Exception):
    """The program raised; carries what had been declared (and invoked) before it did."""

    def __init__(self, cause: BaseException, resources: list[Registered], invokes: list[str]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.resources = resources
        self.invokes = invokes


def evaluate(
    config: Mapping[str, Any] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
    stack: str = "dev",
    program: Path = PROGRAM,
) -> Evaluation:
    """Run the program once, as `pulumi up` would, and return what it declared.

    Config values are given as on the command line (strings, or JSON-able lists/bools).
    """
    all_config = {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
    for key, value in (secrets or {}).items():
        all_config[f"{PROJECT}:{key}"] = value
    pulumi.runtime.set_all_config(all_config, [f"{PROJECT}:{k}" for k in secrets or {}])

    monitor = RecordingMonitor(AzureMocks())
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.set_mocks(AzureMocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)

    exported: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    secret_exports: set[str] = set()

    async def run() -> None:
        with mock.patch.object(pulumi, "export", lambda key, value: exported.__setitem__(key, value)):
            # Exactly how Pulumi starts a Python program whose Pulumi.yaml says `main: infra/`.
            runpy.run_path(str(program.parent), run_name="__main__")
        for key, value in exported.items():
            output = pulumi.Output.from_input(value)
            resolved[key] = await output.future()
            if await output.is_secret():
                secret_exports.add(key)

    try:
        _sync_await(run_pulumi_func(run))
    except Exception as err:
        raise EvaluationFailed(err, monitor.registered, monitor.invokes) from err
    return Evaluation(
        resources=monitor.registered, invokes=monitor.invokes, exports=resolved, secret_exports=secret_exports
    )
