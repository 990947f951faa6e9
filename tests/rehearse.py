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
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from tests.chain import (
    CLIENT_ID_ANNOTATION,
    EXPECTED_FAILURE,
    EXPECTED_FILE_FAILURE,
    USE_LABEL,
    job_run,
    mount_failed,
)
from tests.fakes import RunResult
from tests.stack import constants as t
from tests.stack.cuts import CUTS
from tests.stack.harness import Evaluation, evaluate_stack
from workload_id import roles

MOUNT_FAILED = 20
MOUNT_FIX = (
    "fix: kubectl describe pod shows FailedMount: the SecretProviderClass's clientID must be the workload identity's "
    "client id, keyvaultName and objects the stack's vault and secret, and the pod's ServiceAccount the federated one"
)

# The wires whose cut the running chain shows (the others are ordering, which only the wiring tests see).
CHAIN_CUTS = [*EXPECTED_FAILURE, *EXPECTED_FILE_FAILURE]


def chain(ev: Evaluation) -> list[str]:
    """The links as the stack wires them, in the order a token travels."""
    cluster, fic, identity = ev.one(t.CLUSTER), ev.one(t.FEDERATED_CREDENTIAL), ev.one(t.IDENTITY)
    sa, job, secret, vault = ev.one(t.SERVICE_ACCOUNT), ev.one(t.JOB, t.SDK_JOB), ev.one(t.SECRET), ev.one(t.VAULT)
    pod = job.inputs["spec"]["template"]
    lines = [
        f"cluster OIDC issuer      {cluster.outputs['oidcIssuerProfile']['issuerURL']}",
        f"federated credential     issuer   {fic.inputs['issuer']}",
        f"                         subject  {fic.inputs['subject']}",
        f"                         audience {', '.join(fic.inputs['audiences'])}",
        f"ServiceAccount           {sa.inputs['metadata']['namespace']}/{sa.inputs['metadata']['name']}, "
        f"{CLIENT_ID_ANNOTATION}={sa.inputs['metadata'].get('annotations', {}).get(CLIENT_ID_ANNOTATION, '(none)')}",
        f"Job pod                  {job.inputs['metadata']['namespace']}/{job.inputs['metadata']['name']} as "
        f"{pod['spec']['serviceAccountName']}, {USE_LABEL}={pod['metadata']['labels'].get(USE_LABEL, '(none)')}",
        f"identity                 {identity.outputs['name']}, client id {identity.outputs['clientId']}, "
        f"principal {identity.outputs['principalId']}",
    ]
    for assignment in sorted(ev.of_type(t.ROLE_ASSIGNMENT), key=lambda a: a.name):
        guid = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        lines.append(
            f"role                     {roles.NAMES.get(guid, guid)} -> {assignment.inputs['principalId']} "
            f"at ...{assignment.inputs['scope'][-60:]}"
        )
    lines.append(f"secret                   {secret.inputs['secretName']} in {vault.outputs['properties']['vaultUri']}")
    for job in [j for j in ev.of_type(t.JOB) if j.name == t.FILE_JOB]:
        pod = job.inputs["spec"]["template"]["spec"]
        volumes = [v["csi"]["volumeAttributes"]["secretProviderClass"] for v in pod["volumes"] if "csi" in v]
        lines.append(
            f"file Job pod             {job.inputs['metadata']['namespace']}/{job.inputs['metadata']['name']} as "
            f"{pod['serviceAccountName']}, CSI volume of class {', '.join(volumes) or '(none)'}"
        )
    for spc in ev.of_type(t.SECRET_PROVIDER_CLASS):
        parameters = spc.inputs["spec"]["parameters"]
        lines.append(
            f"SecretProviderClass      {spc.inputs['metadata']['name']}: clientID {parameters.get('clientID')}, "
            f"keyvaultName {parameters.get('keyvaultName')}"
        )
    return lines


def rehearse(stack: str, cut: str | None, out: TextIO) -> int:
    started = time.monotonic()

    def step(text: str) -> None:
        print(f"== {text} ({time.monotonic() - started:.1f}s)", file=out, flush=True)

    step(f"evaluating the program for stack {stack}" + (f", wire cut: {cut}" if cut else ""))
    ev = evaluate_stack(stack, cut=CUTS[cut] if cut else None)
    if cut in EXPECTED_FILE_FAILURE and not any(job.name == t.FILE_JOB for job in ev.of_type(t.JOB)):
        print(
            f"scripts/rehearse.sh: stack {stack} does not read with the CSI driver; --cut {cut!r} needs dev", file=out
        )
        return 2
    step("the chain as wired")
    for line in chain(ev):
        print(f"   {line}", file=out)
    step("deploying what the stack declares onto local Entra ID, Key Vault and the cluster's OIDC issuer")
    codes = []
    if any(job.name == t.SDK_JOB for job in ev.of_type(t.JOB)):
        step("running the Job's app in the pod the webhook mutates")
        codes.append(report(job_run(ev, t.SDK_JOB), "the Job's app", out, step))
    if any(job.name == t.FILE_JOB for job in ev.of_type(t.JOB)):
        step("mounting the file Job's CSI volume as the driver does, then its app in file mode")
        codes.append(report(job_run(ev, t.FILE_JOB), "the file Job's app", out, step))
    return next((code for code in codes if code != 0), 0)


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
    args = parser.parse_args(argv)
    if args.list_cuts:
        print("\n".join(CHAIN_CUTS), file=out)
        return 0
    return rehearse(args.stack, args.cut, out)


if __name__ == "__main__":
    sys.exit(main())
