"""One workload's binding: a user-assigned identity, federated to exactly one Kubernetes ServiceAccount,
that may read exactly its own Key Vault secrets, and that ServiceAccount, annotated with the identity.

Pods that run as the ServiceAccount and carry the label `azure.workload.identity/use: "true"` read their
secrets with no stored credential. The schema other languages see is inferred from these annotations by
`pulumi.provider.experimental` (analyzer.py); docstrings become its descriptions.
"""

# No `from __future__ import annotations`: the analyzer reads the annotations as types, not strings.
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, keyvault, managedidentity

from . import csi
from .verification import DEFAULT_RETRY_BUDGET_SECONDS, Verification, retry_budget_seconds, verification_jobs

PACKAGE, VERSION = "workloadid", "0.2.0"  # the package's name and version (pyproject.toml)
TYPE_TOKEN = f"{PACKAGE}:index:WorkloadBinding"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
# Key Vault Secrets User (the GUID is the same in every tenant: Azure's built-in roles reference).
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


class WorkloadBindingArgs(TypedDict):
    """Where the identity goes, the cluster that issues the ServiceAccount's tokens, and what it may read."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the identity (and of its federated credential)."""
    location: pulumi.Input[str]
    """Azure region of the identity."""
    identity_name: pulumi.Input[str]
    """Name of the user-assigned managed identity."""
    oidc_issuer_url: pulumi.Input[str]
    """The cluster's OIDC issuer URL exactly as AKS reports it, trailing slash included (Entra compares it)."""
    namespace: str
    """Kubernetes namespace of the ServiceAccount; it must exist."""
    service_account_name: str
    """Name of the ServiceAccount to create and federate (subject system:serviceaccount:<namespace>:<name>)."""
    key_vault_id: pulumi.Input[str]
    """ARM id of the Key Vault (in Azure RBAC mode) that holds the secrets."""
    secret_names: list[str]
    """Secrets the workload may read: Key Vault Secrets User on each, at the secret's own scope."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags of the identity."""
    service_account_labels: NotRequired[dict[str, str]]
    """Labels of the ServiceAccount."""
    secret_provider_class: NotRequired[bool]
    """Also create SecretProviderClass <serviceAccountName>-keyvault: these secrets as files (the CSI add-on's)."""
    verification_image: NotRequired[pulumi.Input[str]]
    """This repository's app image (app/): a Job per secret reads it as the ServiceAccount; a failed read fails up."""
    verification_retry_budget_seconds: NotRequired[int]
    """How long each verification Job retries while the grants propagate, 30-1800 s (default 600)."""


class WorkloadBinding(pulumi.ComponentResource):
    """An identity federated to one ServiceAccount that reads exactly its Key Vault secrets, and that ServiceAccount."""

    # The ServiceAccount goes through the Kubernetes provider the caller passes (`providers`), or the default one.

    client_id: pulumi.Output[str]
    """Client id of the identity: what the ServiceAccount annotation and the Azure SDKs use."""
    principal_id: pulumi.Output[str]
    """Object (principal) id of the identity: what its role assignments name."""
    identity_id: pulumi.Output[str]
    """ARM id of the identity."""
    subject: pulumi.Output[str]
    """The subject the federated credential trusts."""
    service_account_name: pulumi.Output[str]
    """Name of the ServiceAccount pods run as."""
    role_assignment_ids: pulumi.Output[list[str]]
    """ARM ids of the Key Vault Secrets User assignments, one per secret."""
    secret_provider_class_name: pulumi.Output[str] | None
    """Name of the SecretProviderClass pods mount (with secretProviderClass)."""
    verification_job_names: pulumi.Output[list[str]] | None
    """Names of the Jobs that proved the reads (with verificationImage)."""

    def __init__(self, name: str, args: WorkloadBindingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace, account = args["namespace"], args["service_account_name"]
        subject = f"system:serviceaccount:{namespace}:{account}"

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args["identity_name"],
            resource_group_name=args["resource_group_name"],
            location=args["location"],
            tags=args.get("tags"),
            opts=child,
        )
        # Read back from the live identity: in a preview of an identity update its computed outputs are unknown,
        # and the ServiceAccount's annotation (and whatever uses the client id) would show a change.
        live = managedidentity.get_user_assigned_identity_output(
            resource_group_name=args["resource_group_name"],
            resource_name=identity.name,
            # Through the provider the identity was created with (the caller's `providers`, if any).
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # One credential per identity: Azure refuses parallel writes on one identity (409).
        self.federated_credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=f"fic-{namespace}-{account}"[:120].rstrip("-"),
            resource_name_=identity.name,
            resource_group_name=args["resource_group_name"],
            issuer=args["oidc_issuer_url"],
            subject=subject,
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        self.grants = self._grants(name, args, live.principal_id)
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={
                "name": account,
                "namespace": namespace,
                "labels": args.get("service_account_labels"),
                "annotations": {CLIENT_ID_ANNOTATION: live.client_id},
            },
            # Pods need no Kubernetes API token for this; the webhook projects the Entra token.
            automount_service_account_token=False,
            opts=child,
        )
        self.identity = identity
        self.secret_provider_class = (
            self._secret_provider_class(name, args, live) if args.get("secret_provider_class") else None
        )
        self.verification_jobs = self._verify(name, args, live, account) if args.get("verification_image") else []

        self.client_id = live.client_id
        self.principal_id = live.principal_id
        self.identity_id = identity.id
        self.subject = self.federated_credential.subject
        self.service_account_name = self.service_account.metadata.apply(lambda m: m.name or account)
        self.role_assignment_ids = pulumi.Output.all(*[grant.id for grant in self.grants.values()])
        # Carries the class as a dependency: a pod that mounts it by this name waits for it.
        self.secret_provider_class_name = (
            self.secret_provider_class.urn.apply(lambda _: csi.class_name(account))
            if self.secret_provider_class
            else None
        )
        self.verification_job_names = (
            pulumi.Output.all(*[job.metadata.apply(lambda m: m.name or "") for job in self.verification_jobs])
            if self.verification_jobs
            else None
        )
        self.register_outputs(
            {
                "secretProviderClassName": self.secret_provider_class_name,
                "verificationJobNames": self.verification_job_names,
                "clientId": self.client_id,
                "principalId": self.principal_id,
                "identityId": self.identity_id,
                "subject": self.subject,
                "serviceAccountName": self.service_account_name,
                "roleAssignmentIds": self.role_assignment_ids,
            }
        )

    def _grants(
        self, name: str, args: WorkloadBindingArgs, principal_id: pulumi.Input[str]
    ) -> dict[str, authorization.RoleAssignment]:
        """Key Vault Secrets User per secret, scoped to it: the identity cannot even list the vault's others."""
        role_definition = pulumi.Output.from_input(args["key_vault_id"]).apply(
            lambda vault_id: "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}".format(
                vault_id.split("/")[2], KEY_VAULT_SECRETS_USER
            )
        )
        return {
            secret: authorization.RoleAssignment(
                # "." is in neither a workload's nor a secret's alphabet: `orders` + `api-key` and `orders-api` +
                # `key` name two grants, not one URN.
                f"{name}.{secret}-secrets-user",
                principal_id=principal_id,
                # The identity is seconds old; without the type ARM may not find it yet.
                principal_type="ServicePrincipal",
                role_definition_id=role_definition,
                scope=pulumi.Output.concat(args["key_vault_id"], "/secrets/", secret),
                # ARM cannot change an assignment's role; a new role is a new assignment.
                opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["roleDefinitionId"]),
            )
            for secret in args["secret_names"]
        }

    def _secret_provider_class(
        self,
        name: str,
        args: WorkloadBindingArgs,
        live: pulumi.Output[managedidentity.GetUserAssignedIdentityResult],
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{name}-secret-provider-class",
            api_version=csi.API_VERSION,
            kind="SecretProviderClass",
            metadata={"name": csi.class_name(args["service_account_name"]), "namespace": args["namespace"]},
            spec=csi.class_spec(
                client_id=live.client_id,
                tenant_id=live.tenant_id,
                vault_name=pulumi.Output.from_input(args["key_vault_id"]).apply(lambda i: i.split("/")[8]),
                secret_names=args["secret_names"],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _verify(
        self,
        name: str,
        args: WorkloadBindingArgs,
        live: pulumi.Output[managedidentity.GetUserAssignedIdentityResult],
        account: str,
    ) -> list[k8s.batch.v1.Job]:
        vault_id = pulumi.Output.from_input(args["key_vault_id"])
        vault = keyvault.get_vault_output(
            resource_group_name=vault_id.apply(lambda i: i.split("/")[4]),
            vault_name=vault_id.apply(lambda i: i.split("/")[8]),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return verification_jobs(
            name,
            namespace=args["namespace"],
            service_account=account,
            secrets=args["secret_names"],
            verification=Verification(
                image=args["verification_image"],
                vault_uri=vault.properties.apply(lambda p: p.vault_uri or ""),
                retry_budget_seconds=retry_budget_seconds(
                    args.get("verification_retry_budget_seconds", DEFAULT_RETRY_BUDGET_SECONDS)
                ),
                salt=live.principal_id.apply(lambda p: p.replace("-", "")),
                after=[self.federated_credential, *self.grants.values(), self.service_account],
            ),
            secret_provider_class=self.secret_provider_class,
            parent=self,
        )
