"""What an interrupted `pulumi up` left pending, and how to finish it without creating anything twice.

Reads `pulumi stack export` (a file, or stdin). Killed during a create, Pulumi keeps a *pending create* in the state
until someone resolves it (pulumi/pulumi pkg/backend/journal.go: only "creating" operations carry over), and
the next `up` goes on without it (it warns only when it does not refresh first). For each one this finds out
whether the resource exists: an Azure resource through ARM (`az rest`, the GET azure-native itself would send,
at the API version it uses); a Kubernetes object needs no answer: the recovering `up` applies it over one that
exists (upsertExistingObjects); a local command, random value or image push has nothing remote.

Exit 0: no pending create (a note for any other pending operation, which the next update drops).
Exit 3: a report on stderr; with --env-file, the environment of the recovering `up` (`WORKLOAD_ID_ADOPT`:
the {urn: id} of the pending creates that exist, read by infra/workload_id/adopt.py; and, when a Kubernetes
object is pending, PULUMI_K8S_UPSERT_EXISTING_OBJECTS); with --cleared-file, the state without its pending
creates, for `pulumi stack import`. Exit 1: a pending create cannot be settled yet (Azure still creating it,
or failed to), or its existence could not be told (e.g. an expired `az login`). Standard library only.

Not `pulumi refresh --import-pending-creates`: it marks the operation "importing", and the next snapshot
keeps only "creating" operations and no step reads an "importing" one into the state (journal.go, and
pkg/cmd/pulumi/operations/refresh.go, pendingCreatesToImports), so the resource would still be unknown.
Nor `--clear-pending-creates`: in a terminal, refresh first asks about each pending create, whatever `--yes`
says (refresh.go, interactiveFixPendingCreate); `pulumi stack import` of the cleared state does not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
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
# ARM provisioning states of a create still under way (AKS: Creating; most types: Accepted, Provisioning).
IN_PROGRESS = {"creating", "accepted", "provisioning", "updating", "running", "inprogress"}
ADOPT, UPSERT = "WORKLOAD_ID_ADOPT", "PULUMI_K8S_UPSERT_EXISTING_OBJECTS"


@dataclass(frozen=True)
class Pending:
    urn: str
    operation: str  # creating, updating, deleting, reading, importing
    outcome: str  # what the recovery does with it
    adopt_id: str = ""
    upsert: bool = False


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


def provisioning_state(rid: str, version: str) -> str | None:
    """None if ARM does not know the resource; else its provisioningState ("" for types without one)."""
    got = subprocess.run(
        [az(), "rest", "--method", "get", "--url", f"{rid}?api-version={version}",
         "--query", "properties.provisioningState", "--output", "tsv"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if got.returncode == 0:
        return got.stdout.strip()
    if NOT_FOUND.search(got.stderr):
        return None
    fail(f"error: could not tell whether {rid} exists: {last_line(got.stderr)}", "Sign in (az login) and run again.")


def classify(operation: dict, subscription: str, recorded: dict[str, str]) -> Pending:
    """What to do with one pending operation; `recorded`: the state's resources, urn -> id."""
    resource, kind = operation["resource"], operation["type"]
    urn, typ = resource["urn"], resource["type"]
    if kind != "creating":
        return Pending(urn, kind, "settled by this update, which reads the resource again (refresh) and drops it")
    try:
        found = arm_id(resource, subscription)
    except KeyError as missing:
        fail(f"error: cannot tell the Azure id of {urn}: its recorded inputs lack {missing}")
    if urn in recorded:  # the create of a replacement (create-before-delete): the old one is still recorded
        if found is None or found[0].lower() == recorded[urn].lower() or provisioning_state(*found) is None:
            return Pending(urn, kind, "an interrupted replacement: the next up replaces it again")
        fail(
            f"error: an interrupted replacement of {urn} left a second copy in Azure: {found[0]}",
            f"Delete that copy (az resource delete --ids {found[0]}), then run this again.",
        )
    if found is not None:
        rid, version = found
        state = provisioning_state(rid, version)
        if state is None:
            return Pending(urn, kind, "not in Azure: created by the next up")
        if state.lower() in IN_PROGRESS:
            fail(
                f"error: {rid} is still {state} in Azure (the interrupted create goes on without Pulumi).",
                f"Wait until it is done (az resource show --ids {rid} --query properties.provisioningState),"
                " then run this again.",
            )
        if state.lower() in ("failed", "canceled"):
            fail(
                f"error: Azure could not finish creating {rid} (provisioningState {state}).",
                f"Delete it (az resource delete --ids {rid}), then run this again: the next up creates it anew.",
            )
        return Pending(urn, kind, f"exists in Azure: adopted as {rid}", rid)
    if typ.startswith("kubernetes:"):
        return Pending(urn, kind, "Kubernetes object: the next up applies it over any that exists", upsert=True)
    return Pending(urn, kind, "nothing remote: the next up runs it again")


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def fail(*lines: str) -> NoReturn:
    for line in lines:
        print(line, file=sys.stderr)
    sys.exit(1)


def environment(pending: list[Pending]) -> dict[str, str]:
    """What the recovering `up` runs with: the ids to adopt, and, for a Kubernetes object, server-side apply
    over the one that exists (pulumi-kubernetes reads PULUMI_K8S_UPSERT_EXISTING_OBJECTS, provider.go)."""
    env = {ADOPT: json.dumps({p.urn: p.adopt_id for p in pending if p.adopt_id})}
    if any(p.upsert for p in pending):
        env[UPSERT] = "true"
    return env


def without_pending_creates(export: dict) -> dict:
    """The export with its pending creates dropped, for `pulumi stack import` (what `pulumi refresh
    --clear-pending-creates` does, without its interactive menu: refresh.go, filterMapPendingCreates)."""
    deployment = dict(export["deployment"])
    deployment["pending_operations"] = [
        op for op in deployment.get("pending_operations") or [] if op["type"] != "creating"
    ]
    return {**export, "deployment": deployment}


def previous_environment(path: str | None) -> dict[str, str]:
    """The environment an earlier recovery wrote (`export NAME='value'` lines), if its file is there."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as file:
        pairs = [shlex.split(line.removeprefix("export "))[0] for line in file if line.startswith("export ")]
    return dict(pair.split("=", 1) for pair in pairs)


def merged(env: dict[str, str], previous: dict[str, str]) -> dict[str, str]:
    """This recovery's environment, plus what an unfinished earlier one still had to adopt."""
    adopt = {**json.loads(previous.get(ADOPT, "{}")), **json.loads(env[ADOPT])}
    upsert = {UPSERT: "true"} if UPSERT in env or UPSERT in previous else {}
    return {ADOPT: json.dumps(adopt), **upsert}


def report(stack: str, pending: list[Pending], env: dict[str, str], recovering: bool) -> str:
    heading = "recovering" if recovering else f"error: stack '{stack}' has"
    lines = [f"{heading} {len(pending)} pending create(s) from an interrupted update:"]
    lines += [f"  {p.urn} (interrupted while {p.operation}): {p.outcome}" for p in pending]
    variables = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    if not recovering:
        lines.append(f"Recover, then deploy, with one command: ./scripts/deploy.sh {stack} --recover")
    lines.append(f"(the state is imported without the pending creates, then: {variables} pulumi up)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", help="the file `pulumi stack export --file` wrote (default: stdin)")
    parser.add_argument("--stack", default="<stack>", help="the stack's name, for the printed commands")
    parser.add_argument("--env-file", help="where to write, as `export` lines, the environment of the recovering up")
    parser.add_argument("--cleared-file", help="where to write the state without its pending creates")
    parser.add_argument("--previous", help="an earlier recovery's --env-file whose up did not finish: merged in")
    parser.add_argument("--recovering", action="store_true", help="report what is recovered, not how to recover")
    args = parser.parse_args()
    try:
        if args.export:
            with open(args.export, encoding="utf-8") as file:
                export = json.load(file)
        else:
            export = json.load(sys.stdin)
        deployment = export.get("deployment") or {}
    except (OSError, ValueError) as err:
        fail(f"error: could not read the stack's state (pulumi stack export): {err}")
    recorded = {r["urn"]: str(r.get("id", "")) for r in deployment.get("resources") or []}
    operations = deployment.get("pending_operations") or []
    if not operations:
        return
    needs_azure = any(op["resource"]["type"].startswith("azure-native:") for op in operations)
    subscription = subscription_of(deployment) if needs_azure else ""
    pending = [classify(op, subscription, recorded) for op in operations]
    creates = [p for p in pending if p.operation == "creating"]
    if not creates:
        # Any next operation drops the others (journal.go carries only creates over).
        for p in pending:
            print(f"note: {p.urn} (interrupted while {p.operation}): {p.outcome}", file=sys.stderr)
        return
    env = merged(environment(creates), previous_environment(args.previous))
    if args.env_file:
        with open(args.env_file, "w", encoding="utf-8") as file:
            file.writelines(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    if args.cleared_file:
        with open(args.cleared_file, "w", encoding="utf-8") as file:
            json.dump(without_pending_creates(export), file)
    print(report(args.stack, creates, env, args.recovering), file=sys.stderr)
    sys.exit(PENDING)


if __name__ == "__main__":
    main()
