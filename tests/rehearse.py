"""Rehearse `pulumi up` with no Azure and no Pulumi CLI: run through ./scripts/rehearse.sh.

Evaluates the program for a stack under the emulated engine, prints the Workload ID chain as it is
wired, deploys it onto local fakes of Entra ID, Key Vault and the cluster's OIDC issuer, and runs
the real app with the Job's environment and a token for the Job's ServiceAccount (tests/chain.py,
the end-to-end tests' own code path); with the CSI path, mounts the file Job's volume as the driver
would and runs the app in file mode on it. `--cut NAME` cuts one wire first and shows what a real
deployment would show. The exit code is the first failing Job's app's, or MOUNT_FAILED when the file
Job's volume cannot be mounted (its pod never starts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import pulumi

from tests.chain import (
    CLIENT_ID_ANNOTATION,
    EXPECTED_FAILURE,
    EXPECTED_FILE_FAILURE,
    USE_LABEL,
    is_file_job,
    job_run,
    mount_failed,
)
from tests.fakes import RunResult
from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.cuts import CUTS, LEAKED_GRANT
from tests.stack.harness import Evaluation, EvaluationFailed, Registered, evaluate_stack
from tests.stack.stacks import PLACEHOLDER_REPLACEMENTS, THREE_WORKLOADS
from workload_id import roles

MOUNT_FAILED = 20
MOUNT_FIX = (
    "fix: kubectl describe pod shows FailedMount: the SecretProviderClass's clientID must be the workload identity's "
    "client id, keyvaultName and objects the stack's vault and secret, and the pod's ServiceAccount the federated one"
)

# The wires whose cut the running chain shows (the others are ordering, which only the wiring tests see).
CHAIN_CUTS = [*EXPECTED_FAILURE, *EXPECTED_FILE_FAILURE, LEAKED_GRANT.name]
# What a cut needs, as --list-cuts says after its name (tab-separated).
CUT_NEEDS = {cut: "\tneeds the CSI driver (dev)" for cut in EXPECTED_FILE_FAILURE} | {
    LEAKED_GRANT.name: "\tneeds --three-workloads"
}


def chain(ev: Evaluation) -> list[str]:
    """The links as the stack wires them, workload by workload, in the order a token travels."""
    cluster, vault = ev.one(t.CLUSTER), ev.one(t.VAULT)
    secrets = {s.id: s.inputs["secretName"] for s in ev.of_type(t.SECRET)}
    lines = [
        f"cluster OIDC issuer      {cluster.outputs['oidcIssuerProfile']['issuerURL']}",
        f"vault                    {vault.outputs['properties']['vaultUri']}, secrets {', '.join(secrets.values())}",
    ]
    for w in wiring.workloads(ev):
        fic, sa, identity = w.credential.inputs, w.service_account.inputs["metadata"], w.identity.outputs
        lines += [
            f"workload {w.name}",
            f"  identity               {identity['name']}, client id {identity['clientId']}, "
            f"principal {identity['principalId']}",
            f"  federated credential   issuer   {fic['issuer']}",
            f"                         subject  {fic['subject']}",
            f"                         audience {', '.join(fic['audiences'])}",
            f"  ServiceAccount         {sa['namespace']}/{sa['name']}, "
            f"{CLIENT_ID_ANNOTATION}={sa.get('annotations', {}).get(CLIENT_ID_ANNOTATION, '(none)')}",
        ]
        for grant in w.grants:
            guid, scope = grant.inputs["roleDefinitionId"].rsplit("/", 1)[-1], grant.inputs["scope"]
            lines.append(
                f"  role                   {roles.NAMES.get(guid, guid)} -> {grant.inputs['principalId']} "
                f"on {'secret ' + secrets[scope] if scope in secrets else '...' + scope[-60:]}"
            )
        if w.secret_provider_class is not None:
            spc = w.secret_provider_class.inputs
            parameters = spc["spec"]["parameters"]
            lines.append(
                f"  SecretProviderClass    {spc['metadata']['name']}: clientID {parameters.get('clientID')}, "
                f"keyvaultName {parameters.get('keyvaultName')}"
            )
        for job in w.jobs:
            pod = job.inputs["spec"]["template"]
            classes = [
                v["csi"]["volumeAttributes"]["secretProviderClass"] for v in pod["spec"]["volumes"] if "csi" in v
            ]
            labelled = f"{USE_LABEL}={pod['metadata']['labels'].get(USE_LABEL, '(none)')}"
            how = f"CSI volume of class {', '.join(classes)}" if is_file_job(job) else labelled
            lines.append(
                f"  Job pod                {job.inputs['metadata']['namespace']}/{job.inputs['metadata']['name']} as "
                f"{pod['spec']['serviceAccountName']}, {how}"
            )
    for assignment in ev.of_type(t.ROLE_ASSIGNMENT):
        if assignment.inputs["roleDefinitionId"].endswith(t.ACR_PULL):
            lines.append(f"role                     AcrPull -> {assignment.inputs['principalId']} (the kubelet)")
    return lines


def rehearse(
    stack: str,
    cut: str | None,
    out: TextIO,
    *,
    three_workloads: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> int:
    started = time.monotonic()

    def step(text: str) -> None:
        print(f"== {text} ({time.monotonic() - started:.1f}s)", file=out, flush=True)

    config = (THREE_WORKLOADS if three_workloads else {}) | dict(settings or {})
    what = f"stack {stack}" + (" with three workloads" if three_workloads else "")
    step(f"evaluating the program for {what}" + (f", wire cut: {cut}" if cut else ""))
    if cut == LEAKED_GRANT.name and not three_workloads:
        print(f"scripts/rehearse.sh: --cut {cut!r} needs --three-workloads (it grants orders payments-key)", file=out)
        return 2
    for key, value in PLACEHOLDER_REPLACEMENTS.get(stack, {}).items():
        if key not in config:
            print(
                f"   {key}: Pulumi.{stack}.yaml holds a documentation placeholder, which the program refuses; "
                f"rehearsing with {json.dumps(value)} in its place (set your own before deploying)",
                file=out,
            )
    try:
        ev = evaluate_stack(
            stack, config, cut=(LEAKED_GRANT if cut == LEAKED_GRANT.name else CUTS[cut]) if cut else None
        )
    except EvaluationFailed as failed:
        if not isinstance(failed.cause, pulumi.RunError):
            raise
        # As the Pulumi CLI prints a RunError: its one line.
        print(f"scripts/rehearse.sh: {failed.cause}", file=out)
        return 2
    if cut in EXPECTED_FILE_FAILURE and not any(is_file_job(job) for job in ev.of_type(t.JOB)):
        print(
            f"scripts/rehearse.sh: stack {stack} does not read with the CSI driver; --cut {cut!r} needs dev", file=out
        )
        return 2
    step("the chain as wired" + (", each link the cut changed marked <<" if cut else ""))
    intact = set(chain(evaluate_stack(stack, config))) if cut else set()
    for line in chain(ev):
        print(f"   {line}" + ("   <<" if cut and line not in intact else ""), file=out)
    step("deploying what the stack declares onto local Entra ID, Key Vault and the cluster's OIDC issuer")
    codes = []
    for w in wiring.workloads(ev):
        for job in sorted(w.jobs, key=_job_order):
            name = job.inputs["metadata"]["name"]
            if job.name.endswith("-isolation-job"):
                step(f"running {name}: {w.name}'s identity must be refused a secret it was not granted")
                codes.append(report(job_run(ev, job.name), "the isolation Job's app", out, step))
            elif is_file_job(job):
                step(f"mounting the file Job's CSI volume as the driver does, then its app in file mode ({name})")
                codes.append(report(job_run(ev, job.name), "the file Job's app", out, step))
            else:
                step(f"running the Job's app in the pod the webhook mutates ({name})")
                codes.append(report(job_run(ev, job.name), "the Job's app", out, step))
    return next((code for code in codes if code != 0), 0)


def _job_order(job: Registered) -> int:
    """The SDK Jobs, then the file Jobs, then the isolation check."""
    return 2 if job.name.endswith("-isolation-job") else 1 if is_file_job(job) else 0


def report(result: RunResult, what: str, out: TextIO, step: Callable[[str], None]) -> int:
    for line in [*result.stdout_lines, *result.stderr_lines]:
        print(f"   {line}", file=out)
    if mount_failed(result):
        print(f"   {MOUNT_FIX}", file=out)
        step("the file Job's volume did not mount: its pod stays ContainerCreating, the Job fails at its deadline")
        return MOUNT_FAILED
    step(f"{what} exited {result.returncode}")
    return result.returncode


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="scripts/rehearse.sh", description="Rehearse pulumi up offline.")
    parser.add_argument("stack", nargs="?", default="dev", choices=["dev", "prod"], help="stack file (default dev)")
    parser.add_argument("--list-cuts", action="store_true", help="print the wires --cut can cut, one a line")
    parser.add_argument("--cut", metavar="NAME", choices=CHAIN_CUTS, help="cut this wire first")
    parser.add_argument(
        "--three-workloads",
        action="store_true",
        help="the example of docs/workloads.md: three workloads (orders, payments, reports)",
    )
    parser.add_argument(
        "--config",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a setting for this rehearsal, over the stack file's (JSON for lists); repeatable",
    )
    args = parser.parse_args(argv)
    if args.list_cuts:
        print("\n".join(f"{cut}{CUT_NEEDS.get(cut, '')}" for cut in CHAIN_CUTS), file=out)
        return 0
    try:
        settings = dict(_setting(item) for item in args.config)
    except ValueError as bad:
        parser.error(str(bad))
    return rehearse(args.stack, args.cut, out, three_workloads=args.three_workloads, settings=settings)


def _setting(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--config {item!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


if __name__ == "__main__":
    sys.exit(main())
