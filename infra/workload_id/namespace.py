"""A workloads' namespace, created through ARM, and least-privilege Kubernetes access to it.

An AKS managed namespace lets the deployer hold only "Azure Kubernetes Service RBAC
Writer" (or, to write custom resources, "RBAC Admin") on this one namespace: creating a
Namespace object through the Kubernetes API would need cluster-wide rights (RBAC Writer
and RBAC Admin both exclude namespaces/write).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, containerservice

from . import roles
from .cluster import AksCluster
from .paths import step
from .placement import Placement

# Pod Security Admission: the strictest built-in profile, enforced, audited and warned.
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")} | {
    f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in ("enforce", "audit", "warn")
}

RBAC_WAIT_SECONDS = 600
# What a stack with one workload named its namespace component.
LEGACY_NAME = "app-namespace"


class AppNamespace(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        placement: Placement,
        cluster: AksCluster,
        namespace: str,
        deployer_object_ids: Sequence[pulumi.Input[str]],
        subscription_id: str,
        custom_resources: bool = False,
        takes_over: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """takes_over: alias to the one namespace of a stack that had one workload (its children follow:
        their names start with this component's)."""
        aliases = [pulumi.Alias(name=LEGACY_NAME)] if takes_over else None
        super().__init__(
            "workloadid:azure:AppNamespace",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)),
        )
        child = pulumi.ResourceOptions(parent=self)

        self.managed_namespace = containerservice.ManagedNamespace(
            name,
            managed_namespace_name=namespace,
            resource_name_=cluster.name,
            # The cluster's own group and region: an existing cluster's may differ from the stack's.
            resource_group_name=cluster.resource_group_name,
            location=cluster.location,
            tags=placement.tags,
            properties={
                "labels": POD_SECURITY_LABELS,
                # Default deny both ways; the workload's own NetworkPolicy opens only DNS and HTTPS out.
                "default_network_policy": {"ingress": "DenyAll", "egress": "DenyAll"},
                "default_resource_quota": {
                    "cpu_request": "1",
                    "cpu_limit": "2",
                    "memory_request": "1Gi",
                    "memory_limit": "2Gi",
                },
                "adoption_policy": "Never",
                "delete_policy": "Delete",
            },
            opts=child,
        )
        self.name: pulumi.Output[str] = self.managed_namespace.name

        dependencies: list[pulumi.Resource] = [self.managed_namespace]
        self.deployer_roles: list[authorization.RoleAssignment] = []
        if not cluster.uses_local_accounts:
            # Azure RBAC for Kubernetes: the deployer may write in this namespace only. RBAC Writer holds
            # no data action for custom resources (a SecretProviderClass is checked as
            # managedClusters/customresources/write); the narrowest built-in role that does is RBAC Admin,
            # still on this namespace only. A custom role would be narrower, but creating one needs
            # roleDefinitions/write, which the documented deployer does not hold.
            role = roles.AKS_RBAC_ADMIN if custom_resources else roles.AKS_RBAC_WRITER
            # One per deployer; the first keeps the name the single deployer's assignment always had.
            self.deployer_roles = [
                authorization.RoleAssignment(
                    f"{name}-deployer-writer" if index == 0 else f"{name}-deployer-{index}-writer",
                    principal_id=deployer,
                    # principal_type is left for ARM to look up: the deployer may be a user or a
                    # service principal, and it already exists, so there is no replication race.
                    role_definition_id=roles.role_definition_id(subscription_id, role),
                    scope=pulumi.Output.concat(cluster.id, "/namespaces/", self.name),
                    # Switching delivery swaps Writer and Admin: a new assignment, created before the old goes.
                    opts=pulumi.ResourceOptions(parent=self, replace_on_changes=roles.REPLACE_ON_ROLE_CHANGE),
                )
                for index, deployer in enumerate(deployer_object_ids)
            ]
            # New Azure RBAC grants take up to minutes to reach the API server; wait until
            # the deployer can really create Jobs here before the provider is used.
            self.rbac_ready = command.local.Command(
                f"{name}-rbac-ready",
                interpreter=step("rbac_ready"),
                create="wait",
                environment={
                    "NAMESPACE": self.name,
                    # kubelogin may sign in as an identity that is none of the deployers the role went to.
                    "DEPLOYER_OBJECT_ID": pulumi.Output.all(*deployer_object_ids).apply(" ".join),
                    "ROLE_NAME": roles.NAMES[role],
                    "TIMEOUT_SECONDS": str(RBAC_WAIT_SECONDS),
                },
                stdin=cluster.kubeconfig,
                triggers=[role.id for role in self.deployer_roles],
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.deployer_roles),
            )
            dependencies = [self.managed_namespace, *self.deployer_roles, self.rbac_ready]
        # What a local command that uses the deployer's Kubernetes access must wait for.
        self.ready = dependencies

        self.provider = k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=cluster.kubeconfig,
            namespace=self.name,
            # upsertExistingObjects stays unset (AlreadyExists on a create of an object that exists: a rename
            # without an alias fails instead of taking over, then deleting, the live object). The recovery
            # sets it, through PULUMI_K8S_UPSERT_EXISTING_OBJECTS, for the `up` that finishes an interrupted
            # one (scripts/recover.py).
            opts=pulumi.ResourceOptions(parent=self, depends_on=dependencies),
        )
        self.register_outputs({"name": self.name})
