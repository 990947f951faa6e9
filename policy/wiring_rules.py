"""Stack rules: the links of the Workload ID chain across resources, each the cause of one Azure error.

Each rule takes the stack's resources (props under their wire names) and a report(message, urn)
callback. A value that is unknown in this preview is not judged; a known wrong one is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from props import known, of_type, path, value, value_or

Report = Callable[[str, str | None], None]

CLUSTER = "azure-native:containerservice:ManagedCluster"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
REGISTRY = "azure-native:containerregistry:Registry"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
# Where each workload kind keeps its pod template.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": (),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
}

AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
CSI_SECRETS_DRIVER = "secrets-store.csi.k8s.io"
# Built-in role definition GUIDs (the same in every tenant).
KEY_VAULT_DATA_ROLES = {
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
KEY_VAULT_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}


def subject_of(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class Pod:
    """A pod template as the webhook sees it."""

    owner: PolicyResource
    namespace: str | None  # None: unknown
    service_account: str | None
    labelled: bool | None
    # Mounts a Secrets Store CSI volume: the kubelet hands the driver the pod's token, no webhook needed.
    mounts_csi_secrets: bool | None


def _mounts_csi_secrets(template: Mapping[str, Any]) -> bool | None:
    volumes = value_or(template, [], "spec", "volumes")
    if not isinstance(volumes, Sequence):  # None: unknown
        return None
    drivers = [value_or(v, "", "csi", "driver") for v in volumes]
    return None if None in drivers else CSI_SECRETS_DRIVER in drivers


def pods(resources: Sequence[PolicyResource]) -> Iterator[Pod]:
    for resource in resources:
        where = POD_TEMPLATE_PATHS.get(resource.resource_type)
        if where is None:
            continue
        template = value_or(resource.props, {}, *where)  # a Pod: where == (), the props themselves
        if template is None:
            continue
        label = value_or(template, "", "metadata", "labels", USE_LABEL)
        yield Pod(
            owner=resource,
            namespace=value(resource.props, "metadata", "namespace"),  # absent: the provider's, not known here
            service_account=value_or(template, "default", "spec", "serviceAccountName"),
            labelled=None if label is None else label == "true",
            mounts_csi_secrets=_mounts_csi_secrets(template),
        )


def identity_of(fic: PolicyResource) -> PolicyResource | None:
    """The identity a federated credential belongs to. `resourceName` is an input azure-native does not return,
    so the link is the credential's dependency on the identity whose name it was given."""
    linked = fic.property_dependencies.get("resourceName") or fic.dependencies
    identities = [r for r in linked if r.resource_type == IDENTITY]
    return identities[0] if len(identities) == 1 else None


def _subjects_by_identity(resources: Sequence[PolicyResource]) -> dict[str, set[str]] | None:
    """identity URN -> the subjects its federated credentials trust; None when a subject or a link is unknown."""
    found: dict[str, set[str]] = {}
    for fic in of_type(resources, FEDERATED_CREDENTIAL):
        identity, subject = identity_of(fic), value(fic.props, "subject")
        if identity is None or subject is None:
            return None
        found.setdefault(identity.urn, set()).add(subject)
    return found


def workload_principals(resources: Sequence[PolicyResource]) -> tuple[set[str], bool]:
    """Principal ids of the workload identities (those with a federated credential); False if any is unknown."""
    trusted = _subjects_by_identity(resources)
    if trusted is None:
        return set(), False
    ids = [value(r.props, "principalId") for r in of_type(resources, IDENTITY) if r.urn in trusted]
    return {i for i in ids if i}, None not in ids


def _client_ids(resources: Sequence[PolicyResource]) -> dict[str, str] | None:
    """client id -> identity URN; None when a client id is unknown."""
    ids = {value(r.props, "clientId"): r.urn for r in of_type(resources, IDENTITY)}
    return None if None in ids else ids


def federated_service_accounts_by_client_id(
    resources: Sequence[PolicyResource],
) -> dict[str, set[tuple[str, str]]] | None:
    """client id -> (namespace, name) of each ServiceAccount its identity's credentials trust; None if unknown."""
    identities, trusted = _client_ids(resources), _subjects_by_identity(resources)
    if identities is None or trusted is None:
        return None
    found: dict[str, set[tuple[str, str]]] = {}
    for client_id, urn in identities.items():
        subjects = [s.split(":") for s in trusted.get(urn, set())]
        found[client_id] = {(s[2], s[3]) for s in subjects if len(s) == 4 and s[:2] == ["system", "serviceaccount"]}
    return {client_id: accounts for client_id, accounts in found.items() if accounts}


def kubelet_principals(resources: Sequence[PolicyResource]) -> tuple[set[str], bool]:
    ids = [value(c.props, "identityProfile", "kubeletidentity", "objectId") for c in of_type(resources, CLUSTER)]
    return {i for i in ids if i}, None not in ids


def role_guid(assignment: PolicyResource) -> str | None:
    role = value(assignment.props, "roleDefinitionId")
    return role.rsplit("/", 1)[-1].lower() if role else None


def federated_credential_issuer(resources: Sequence[PolicyResource], report: Report) -> None:
    found = [value_or(c.props, "", "oidcIssuerProfile", "issuerURL") for c in of_type(resources, CLUSTER)]
    issuers = [i for i in found if i]
    if not issuers or None in found:
        return  # no cluster with an issuer here, or an issuer not known yet: nothing to compare with
    for fic in of_type(resources, FEDERATED_CREDENTIAL):
        issuer = value(fic.props, "issuer")
        if issuer is not None and issuer not in issuers:
            report(
                f"{fic.name}: issuer '{issuer}' is not the OIDC issuer of a cluster in this stack "
                f"({', '.join(issuers)}); Entra compares it exactly, a trailing slash included, and answers "
                "AADSTS700211. Fix: pass the cluster's oidcIssuerProfile.issuerURL output unchanged.",
                fic.urn,
            )


def federated_credential_subject_and_audience(resources: Sequence[PolicyResource], report: Report) -> None:
    accounts = [
        (value(sa.props, "metadata", "namespace"), value(sa.props, "metadata", "name"))
        for sa in of_type(resources, SERVICE_ACCOUNT)
    ]
    subjects = {subject_of(ns, name) for ns, name in accounts if ns and name}
    all_known = all(ns and name for ns, name in accounts)
    for fic in of_type(resources, FEDERATED_CREDENTIAL):
        subject, audiences = value(fic.props, "subject"), known(lambda f=fic: list(path(f.props, "audiences")))
        if subject is not None and accounts and all_known and subject not in subjects:
            report(
                f"{fic.name}: subject '{subject}' names no ServiceAccount declared in this stack "
                f"({', '.join(sorted(subjects))}); Entra answers AADSTS700213. Fix: build the subject from the "
                "namespace and name of the ServiceAccount the pod runs as.",
                fic.urn,
            )
        if audiences is not None and audiences != [AUDIENCE]:
            report(
                f"{fic.name}: audiences {audiences} are not ['{AUDIENCE}']; the projected token's audience does not "
                f"match and Entra answers AADSTS700212. Fix: audiences=['{AUDIENCE}'].",
                fic.urn,
            )


def service_account_client_id(resources: Sequence[PolicyResource], report: Report) -> None:
    identities, trusted = _client_ids(resources), _subjects_by_identity(resources)
    if identities is None or trusted is None:
        return  # a client id, a subject or a credential's identity not known yet
    for sa in of_type(resources, SERVICE_ACCOUNT):
        client_id = value(sa.props, "metadata", "annotations", CLIENT_ID_ANNOTATION)
        name, namespace = value(sa.props, "metadata", "name"), value(sa.props, "metadata", "namespace")
        if client_id is None or name is None or namespace is None or client_id not in identities:
            continue  # no annotation, an unknown name, or an identity outside this stack
        if subject_of(namespace, name) not in trusted.get(identities[client_id], set()):
            report(
                f"{sa.name}: annotated with client id {client_id}, whose identity has no federated credential for "
                f"{subject_of(namespace, name)}; Entra answers AADSTS70021. Fix: add one with this subject, or "
                "annotate with the identity that has it.",
                sa.urn,
            )


def workload_pods(resources: Sequence[PolicyResource], report: Report) -> None:
    accounts = _service_accounts(resources)
    federated = _federated_service_accounts(resources)
    for pod in pods(resources):
        if accounts is None or pod.namespace is None or pod.service_account is None or pod.labelled is None:
            continue
        key = (pod.namespace, pod.service_account)
        # Undeclared: the implicit 'default' is never annotated; another may come from elsewhere (Helm, a stack).
        annotated = accounts.get(key, False if pod.service_account == "default" else None)
        runs_federated = None if federated is None or annotated is None else key in federated
        where = f"{pod.owner.name}: its pods run as {pod.namespace}/{pod.service_account}"
        if pod.labelled and pod.namespace == "kube-system":
            report(
                f"{where} in kube-system, whose pods the workload identity webhook never mutates (exit 3 in the "
                "demo app: no AZURE_* variables). Fix: run it in another namespace.",
                pod.owner.urn,
            )
        elif pod.labelled and (annotated is False or runs_federated is False):
            report(
                f"{where}, which is not annotated with a client id that has a federated credential for it; the "
                "webhook injects no client id, or Entra answers AADSTS70021. Fix: set serviceAccountName to the "
                "federated ServiceAccount (not 'default').",
                pod.owner.urn,
            )
        elif not pod.labelled and runs_federated and pod.mounts_csi_secrets is False:
            report(
                f'{where}, a federated ServiceAccount, but lack the label {USE_LABEL}: "true" on the pod template; '
                "the webhook does not mutate them: no token, no AZURE_* variables (the demo app's exit 3). "
                "Fix: label the pod template (or mount the secret with the Secrets Store CSI driver).",
                pod.owner.urn,
            )


def _service_accounts(resources: Sequence[PolicyResource]) -> dict[tuple[str, str], bool | None] | None:
    """(namespace, name) -> whether it carries a client-id annotation (None: unknown); None if a name is unknown."""
    found: dict[tuple[str, str], bool | None] = {}
    for sa in of_type(resources, SERVICE_ACCOUNT):
        name, namespace = value(sa.props, "metadata", "name"), value(sa.props, "metadata", "namespace")
        if not (name and namespace):
            return None
        annotation = value_or(sa.props, "", "metadata", "annotations", CLIENT_ID_ANNOTATION)
        found[(namespace, name)] = None if annotation is None else annotation != ""
    return found


def _federated_service_accounts(resources: Sequence[PolicyResource]) -> set[tuple[str, str]] | None:
    """(namespace, name) of the ServiceAccounts annotated with a client id whose identity trusts them; None when
    a client id, an annotation, a subject or a credential's identity is not known yet."""
    identities, trusted = _client_ids(resources), _subjects_by_identity(resources)
    if identities is None or trusted is None:
        return None
    found: set[tuple[str, str]] = set()
    for sa in of_type(resources, SERVICE_ACCOUNT):
        name, namespace = value(sa.props, "metadata", "name"), value(sa.props, "metadata", "namespace")
        client_id = value_or(sa.props, "", "metadata", "annotations", CLIENT_ID_ANNOTATION)
        if client_id is None:
            return None
        trusts = trusted.get(identities.get(client_id, ""), set())
        if name and namespace and subject_of(namespace, name) in trusts:
            found.add((namespace, name))
    return found
