"""`pulumi destroy`, walked the way the engine and each provider really do it, for a given deployer.

Order: the engine deletes a resource only after everything that depends on it is gone. A
dependency is an explicit or property dependency, `deletedWith`, the resource's provider and its
parent (pulumi/pulumi pkg/resource/deploy/step_generator.go, ScheduleDeletes; pkg/resource/graph/
dependency_graph.go, DependenciesOf). Steps in one round run in parallel, so each is checked
against the worst case: every other step of its round already done.

A step that is `retainOnDelete`, or `deletedWith` a resource deleted in the same run, calls no
provider (pkg/resource/deploy/step.go, DeleteStep.Apply). Otherwise each provider's real path:

- azure-native, most types: an ARM DELETE; the deployer needs the control-plane delete action.
- azure-native keyvault:Secret: ARM has no DELETE for secrets; the provider calls the vault's data
  plane, `DeleteSecret` (pulumi/pulumi-azure-native provider/pkg/resources/customresources/
  custom_keyvault.go). That needs a data action on the secret and a way through the vault's firewall.
- kubernetes: the API server, with the stack's kubeconfig: the cluster must still exist and let the
  deployer in (authorized IP ranges), and, with Entra ID auth, an Azure RBAC role on the cluster or the
  namespace must still be assigned to the deployer. An object whose namespace is already gone answers
  404, which the provider takes as deleted (pulumi-kubernetes provider/pkg/await/await.go).
- command:local, random, providers and components: nothing remote (no `delete` command is set).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from tests.stack import constants as t
from tests.stack.harness import Evaluation, Registered

# Built-in roles, by what they allow (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"  # every control-plane action but Microsoft.Authorization writes
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"  # role assignments (here: conditioned to the stack's roles)
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
AKS_K8S_ROLES = {t.AKS_RBAC_WRITER, t.AKS_RBAC_CLUSTER_ADMIN, t.AKS_RBAC_ADMIN}
# Custom resources: Azure RBAC checks managedClusters/customresources/{read,write,delete} (AKS docs,
# entra-id-authorization.md); RBAC Writer's data actions list built-in groups only, the admins' are wildcards.
AKS_CUSTOM_RESOURCE_ROLES = {t.AKS_RBAC_CLUSTER_ADMIN, t.AKS_RBAC_ADMIN}
# API groups of pulumi-kubernetes type tokens (kubernetes:<group>/<version>:<Kind>) that Kubernetes serves itself.
BUILT_IN_GROUPS = {"core", "batch", "apps", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"}

SECRET_DELETERS = {KEY_VAULT_SECRETS_OFFICER, KEY_VAULT_ADMINISTRATOR}


@dataclass(frozen=True)
class Deployer:
    """Who runs `pulumi destroy`: roles held at subscription scope outside the stack, and where from."""

    object_id: str
    roles: frozenset[str]
    assignable_roles: frozenset[str]  # what the RBAC Administrator condition lets it assign and remove
    address: str


def _role(assignment: Registered) -> str:
    return assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]


def _allows(ranges: Iterable[str], address: str) -> bool:
    return any(ipaddress.ip_address(address) in ipaddress.ip_network(r) for r in ranges)


@dataclass
class Destroy:
    ev: Evaluation
    deployer: Deployer

    def rounds(self) -> list[list[Registered]]:
        """The engine's delete schedule: rounds of steps that may run in parallel, first round first."""
        alive = {r.urn: r for r in self.ev.resources}
        scheduled: list[list[Registered]] = []
        while alive:
            ready = [r for r in alive.values() if not (self._dependencies(r) & alive.keys())]
            assert ready, "dependency cycle"
            scheduled.append(ready)
            for r in ready:
                del alive[r.urn]
        # Built dependencies-first; deletion runs the other way round.
        return scheduled[::-1]

    def _dependencies(self, r: Registered) -> set[str]:
        return (self.ev.engine_dependencies(r) | {r.parent, r.deleted_with}) - {""}

    def run(self) -> list[str]:
        """Every failed delete, as the provider would report it (empty: destroy succeeds)."""
        alive = {r.urn for r in self.ev.resources}
        deleting = set(alive)
        failures: list[str] = []
        for round_ in self.rounds():
            for step in round_:
                others_done = alive - {r.urn for r in round_ if r.urn != step.urn}
                failure = self._delete(step, others_done, deleting)
                if failure:
                    failures.append(f"{step.name} ({step.type}): {failure}")
            alive -= {r.urn for r in round_}
        return failures

    def _exists(self, typ: str, alive: set[str]) -> Registered | None:
        found = [r for r in self.ev.of_type(typ) if r.urn in alive]
        return found[0] if found else None

    def _delete(self, r: Registered, alive: set[str], deleting: set[str]) -> str | None:
        if r.retain_on_delete or (r.deleted_with and r.deleted_with in deleting):
            return None
        if r.type == t.SECRET:
            return self._data_plane_delete(r, alive)
        if r.type == t.ROLE_ASSIGNMENT:
            if RBAC_ADMINISTRATOR in self.deployer.roles and _role(r) not in self.deployer.assignable_roles:
                return "403 AuthorizationFailed: the RBAC Administrator condition does not allow removing this role"
            return None
        if r.type.startswith("azure-native:"):
            return None if CONTRIBUTOR in self.deployer.roles else "403 AuthorizationFailed"
        if r.type.startswith("kubernetes:") and r.custom:
            return self._api_server_delete(alive, r)
        return None

    def _data_plane_delete(self, secret: Registered, alive: set[str]) -> str | None:
        vault = self.ev.one(t.VAULT)  # the secret depends on it: still there
        acls = vault.inputs["properties"].get("networkAcls", {})
        if acls.get("defaultAction") == "Deny" and not _allows(
            (rule["value"] for rule in acls.get("ipRules", [])), self.deployer.address
        ):
            return f"403 ForbiddenByFirewall: client address {self.deployer.address} is not allowed"
        scopes = (secret.id, vault.id, vault.id.split("/providers/")[0])
        granted = [
            a
            for a in self.ev.of_type(t.ROLE_ASSIGNMENT)
            if a.urn in alive
            and a.inputs["principalId"] == self.deployer.object_id
            and _role(a) in SECRET_DELETERS
            and a.inputs["scope"] in scopes
        ]
        if not granted and not (self.deployer.roles & SECRET_DELETERS):
            return "403 ForbiddenByRbac: the deployer holds no data action on the vault (DeleteSecret)"
        return None

    def _api_server_delete(self, alive: set[str], r: Registered) -> str | None:
        existing = self.ev.existing_cluster()
        own = self._exists(t.CLUSTER, alive)
        if existing is None and own is None:
            return "the configured Kubernetes cluster is unreachable: it was deleted first"
        # The stack's own cluster as declared; an existing one as it is (the stack never changes it).
        settings = existing if existing is not None else own.inputs if own is not None else {}
        cluster_id = existing["id"] if existing is not None else own.id if own is not None else ""
        ranges = settings.get("apiServerAccessProfile", {}).get("authorizedIPRanges", [])
        if ranges and not _allows(ranges, self.deployer.address):
            return f"the API server refuses {self.deployer.address} (authorized IP ranges)"
        if existing is None and not settings["disableLocalAccounts"]:
            return None  # the static admin certificate (an existing cluster is always entered with Entra ID)
        # A custom resource is checked as managedClusters/customresources/delete, which RBAC Writer lacks.
        enough = (
            AKS_CUSTOM_RESOURCE_ROLES if r.type.split(":")[1].split("/")[0] not in BUILT_IN_GROUPS else AKS_K8S_ROLES
        )
        if self.deployer.roles & enough:
            return None
        granted = [
            a
            for a in self.ev.of_type(t.ROLE_ASSIGNMENT)
            if a.urn in alive
            and a.inputs["principalId"] == self.deployer.object_id
            and _role(a) in enough
            and (a.inputs["scope"] == cluster_id or a.inputs["scope"].startswith(cluster_id + "/namespaces/"))
        ]
        if granted:
            return None
        if enough is AKS_CUSTOM_RESOURCE_ROLES:
            return "403 Forbidden: no Azure RBAC role of the deployer covers customresources/delete"
        return "403 Forbidden: the deployer's Azure RBAC role on the cluster is already gone"
