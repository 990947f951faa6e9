"""What an interrupted `pulumi up` left pending, and how to finish it without creating anything twice.

Reads `pulumi stack export` on stdin. Killed during a create, Pulumi keeps a *pending create* in the state
until someone resolves it (pulumi/pulumi pkg/backend/journal.go: only "creating" operations carry over),
and the next `up` only warns. For each one this finds out whether the resource exists: an Azure resource
through ARM (`az rest`, the GET azure-native itself would send, at the API version it uses); a Kubernetes
object needs no answer, as the program's Kubernetes providers apply over an object that exists
(upsertExistingObjects); a local command, random value or image push has nothing remote.

Exit 0: no pending create (a note for any other pending operation, which the next update drops).
Exit 3: a report on stderr, and with --adopt-file the {urn: id} of the pending
creates that exist, for `WORKLOAD_ID_ADOPT` (infra/workload_id/adopt.py). Exit 1: the existence of one
could not be told (e.g. an expired `az login`). Standard library only.

Not `pulumi refresh --import-pending-creates`: it marks the operation "importing", and the next snapshot
keeps only "creating" operations and no step reads an "importing" one into the state (journal.go, and
pkg/cmd/pulumi/operations/refresh.go, pendingCreatesToImports), so the resource would still be unknown.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import NoReturn

PENDING = 3
RG = "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}"
CLUSTER = RG + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}"
IDENTITY = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
VAULT = RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}"
# azure-native type -> (ARM id from the resource's inputs, the API version azure-native uses for it).
ARM_IDS = {
    "resources:ResourceGroup": (RG, "2024-03-01"),
    "containerregistry:Registry": (
        RG + "/providers/Microsoft.ContainerRegistry/registries/{registryName}",
        "2023-01-01-preview",
    ),
    "keyvault:Vault": (VAULT, "2024-11-01"),
    "keyvault:Secret": (VAULT + "/secrets/{secretName}", "2024-11-01"),
    "containerservice:ManagedCluster": (CLUSTER, "2025-09-01"),
    "containerservice:ManagedNamespace": (CLUSTER + "/managedNamespaces/{managedNamespaceName}", "2025-09-01"),
    "managedidentity:UserAssignedIdentity": (IDENTITY, "2023-01-31"),
    "managedidentity:FederatedIdentityCredential": (
        IDENTITY + "/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}",
        "2023-01-31",
    ),
    # roleAssignmentName: the GUID azure-native's Check drew, recorded in the pending operation's inputs.
    "authorization:RoleAssignment": (
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        "2022-04-01",
    ),
    "operationalinsights:Workspace": (
        RG + "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}",
        "2023-09-01",
    ),
    "monitor:DataCollectionRule": (
        RG + "/providers/Microsoft.Insights/dataCollectionRules/{dataCollectionRuleName}",
        "2022-06-01",
    ),
    "monitor:DataCollectionRuleAssociation": (
        "{resourceUri}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{associationName}",
        "2022-06-01",
    ),
}
NOT_FOUND = re.compile(r"NotFound|\(404\)|Not Found")


@dataclass(frozen=True)
class Pending:
    urn: str
    operation: str  # creating, updating, deleting, reading, importing
    outcome: str  # what the recovery does with it
    adopt_id: str = ""


def arm_id(resource: dict, subscription: str) -> tuple[str, str] | None:
    """(ARM id, API version) of a pending azure-native resource, from its inputs; None for other types."""
    typ = resource["type"]
    if not typ.startswith("azure-native:"):
        return None
    template, version = ARM_IDS[typ.removeprefix("azure-native:")]
    return template.format(subscription=subscription, **resource.get("inputs", {})), version


def subscription_of(deployment: dict) -> str:
    """The subscription this stack deploys to: from any Azure id it recorded, else the Azure CLI's."""
    for resource in deployment.get("resources", []):
        match = re.match(r"^/subscriptions/([^/]+)", str(resource.get("id", "")))
        if match:
            return match.group(1)
    shown = subprocess.run(
        [az(), "account", "show", "--query", "id", "--output", "tsv"], capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:
        fail(f"error: could not tell which subscription to look in: {last_line(shown.stderr)}")
    return shown.stdout.strip()


def az() -> str:
    found = shutil.which("az")  # az.cmd on Windows: PATHEXT counts
    if found is None:
        fail("error: the Azure CLI ('az') is needed to tell whether an interrupted create reached Azure.")
    return found


def exists(rid: str, version: str) -> bool:
    got = subprocess.run(
        [az(), "rest", "--method", "get", "--url", f"{rid}?api-version={version}", "--output", "none"],
        capture_output=True,
        text=True,
        check=False,
    )
    if got.returncode == 0:
        return True
    if NOT_FOUND.search(got.stderr):
        return False
    fail(f"error: could not tell whether {rid} exists: {last_line(got.stderr)}", "Sign in (az login) and run again.")


def classify(operation: dict, subscription: str) -> Pending:
    resource, kind = operation["resource"], operation["type"]
    urn, typ = resource["urn"], resource["type"]
    if kind != "creating":
        return Pending(urn, kind, "settled by this update, which reads the resource again (refresh) and drops it")
    found = arm_id(resource, subscription)
    if found is not None:
        rid, version = found
        if exists(rid, version):
            return Pending(urn, kind, f"exists in Azure: adopted as {rid}", rid)
        return Pending(urn, kind, "not in Azure: created by the next up")
    if typ.startswith("kubernetes:"):
        return Pending(urn, kind, "Kubernetes object: the next up applies it over any that exists")
    return Pending(urn, kind, "nothing remote: the next up runs it again")


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def fail(*lines: str) -> NoReturn:
    for line in lines:
        print(line, file=sys.stderr)
    sys.exit(1)


def report(stack: str, pending: list[Pending], adopt: dict[str, str]) -> str:
    lines = [f"error: stack '{stack}' has {len(pending)} pending create(s) from an interrupted update:"]
    lines += [f"  {p.urn} (interrupted while {p.operation}): {p.outcome}" for p in pending]
    lines += [
        f"Recover, then deploy, with one command: ./scripts/deploy.sh {stack} --recover",
        "It runs: pulumi refresh --clear-pending-creates --yes",
        f"    then: WORKLOAD_ID_ADOPT='{json.dumps(adopt)}' pulumi up" if adopt else "    then: pulumi up",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="<stack>", help="the stack's name, for the printed commands")
    parser.add_argument("--adopt-file", help="where to write the {urn: id} to adopt")
    args = parser.parse_args()
    try:
        deployment = json.load(sys.stdin).get("deployment") or {}
    except ValueError as err:
        fail(f"error: could not read the stack's state (pulumi stack export): {err}")
    operations = deployment.get("pending_operations") or []
    if not operations:
        return
    needs_azure = any(op["resource"]["type"].startswith("azure-native:") for op in operations)
    subscription = subscription_of(deployment) if needs_azure else ""
    pending = [classify(op, subscription) for op in operations]
    creates = [p for p in pending if p.operation == "creating"]
    if not creates:
        # Any next operation drops the others (journal.go carries only creates over).
        for p in pending:
            print(f"note: {p.urn} (interrupted while {p.operation}): {p.outcome}", file=sys.stderr)
        return
    adopt = {p.urn: p.adopt_id for p in creates if p.adopt_id}
    if args.adopt_file:
        with open(args.adopt_file, "w", encoding="utf-8") as file:
            json.dump(adopt, file)
    print(report(args.stack, creates, adopt), file=sys.stderr)
    sys.exit(PENDING)


if __name__ == "__main__":
    main()
