"""An `up` interrupted while creating each kind of resource, recovered with one command, under the engine
emulation: the state it leaves (tests/stack/faults.py), what a plain next `up` does, what
`scripts/recover.py` finds with the Azure CLI, and the `up` it leads to (`deploy.sh --recover`: clear the
pending create, adopt what exists through WORKLOAD_ID_ADOPT), then a second `up` that changes nothing."""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.tools import FAKE_ARM_AZ, fake
from tests.stack import constants as t
from tests.stack.destroy import Destroy
from tests.stack.engine import IMPORT
from tests.stack.faults import Interrupted, interrupted_while_creating
from tests.stack.harness import ROOT, Evaluation, EvaluationFailed, Registered, evaluate
from tests.stack.memo import freeze
from tests.stack.refresh import refreshed
from tests.stack.test_config import assert_printed_as_one_line
from tests.stack.test_lifecycle_destroy import DOCUMENTED_DEPLOYER

RECOVER = ROOT / "scripts" / "recover.py"

# Creates in flight at once, as an `up` runs them: the first minutes; then what waits for those; then a grant.
IN_FLIGHT = {
    "cluster, vault and identity": ("cluster", "secret-store-vault", "demo-identity"),
    "credential, secret and managed namespace": (
        "demo-federation",
        "secret-store-demo-secret-secret",
        "namespace-workload-identity-demo",
    ),
    "a role assignment": ("demo.demo-secret-secrets-user",),
}
ADOPT, UPSERT = "WORKLOAD_ID_ADOPT", "PULUMI_K8S_UPSERT_EXISTING_OBJECTS"


def custom(ev: Evaluation, name: str) -> Registered:
    (found,) = [r for r in ev.resources if r.name == name and r.custom]
    return found


@pytest.fixture(scope="module")
def first() -> Evaluation:
    return evaluate()


def recover(interrupted: Interrupted, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """scripts/recover.py on the checkpoint, with an az that sees the live world: its report, and the
    environment it gives the recovering `up`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake(bin_dir, "az", FAKE_ARM_AZ, interpreter=sys.executable)
    ids, env = tmp_path / "arm-ids", tmp_path / "recovery.env"
    ids.write_text("\n".join(interrupted.state.world.objects))
    result = subprocess.run(
        [sys.executable, str(RECOVER), "--stack", "dev", "--env-file", str(env)],
        input=json.dumps(interrupted.export()),
        env={"PATH": str(bin_dir), "ARM_IDS": str(ids)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if not env.exists():
        return result, {}
    exported = [shlex.split(line.removeprefix("export "))[0] for line in env.read_text().splitlines()]
    return result, dict(item.split("=", 1) for item in exported)


@pytest.mark.parametrize("names", IN_FLIGHT.values(), ids=IN_FLIGHT.keys())
def test_azure_resources_created_before_the_interruption_are_adopted_once(
    first: Evaluation, tmp_path: Path, names: tuple[str, ...]
) -> None:
    interrupted = interrupted_while_creating(first, *names)
    created = {name: custom(first, name) for name in names}
    if names[0] == "cluster":  # the same azure-native check for every kind (a role assignment: Azure's 409)
        with pytest.raises(EvaluationFailed, match="cannot create already existing resource '/subscriptions/"):
            evaluate(prior=interrupted.state)  # `up` goes on without the pending creates, and creates again

    result, env = recover(interrupted, tmp_path)
    assert result.returncode == 3, result.stderr
    assert env == {ADOPT: json.dumps({r.urn: r.id for r in interrupted.pending})}
    for resource in created.values():
        assert f"exists in Azure: adopted as {resource.id}" in result.stderr
    assert "./scripts/deploy.sh dev --recover" in result.stderr

    after = evaluate(prior=interrupted.cleared(), environ=env)
    for name, resource in created.items():
        adopted = custom(after, name)
        assert (adopted.step, adopted.id) == (IMPORT, resource.id)
        assert adopted.outputs == resource.outputs, "nothing lost: the client id, the subject, the value"
    assert {r.urn: r.id for r in after.resources} == {r.urn: r.id for r in first.resources}, "nothing twice"
    if names[0] == "cluster":
        preview = evaluate(prior=interrupted.cleared(), environ=env, preview=True)
        assert {name: preview.changes(interrupted.cleared())[name] for name in names} == dict.fromkeys(names, "import")
        assert evaluate(prior=after).changes(after) == {}


def test_a_local_step_runs_again_with_nothing_to_adopt(first: Evaluation, tmp_path: Path) -> None:
    interrupted = interrupted_while_creating(first, "app-image-acr-build")
    result, env = recover(interrupted, tmp_path)
    assert result.returncode == 3, result.stderr
    assert env == {ADOPT: "{}"}
    assert "nothing remote: the next up runs it again" in result.stderr
    after = evaluate(prior=interrupted.cleared(), environ=env)
    assert custom(after, "app-image-acr-build").step == "create"
    assert {r.urn: r.id for r in after.resources} == {r.urn: r.id for r in first.resources}
    assert evaluate(prior=after).changes(after) == {}


def test_a_kubernetes_object_the_cluster_holds_is_applied_over_by_the_recovering_up(
    first: Evaluation, tmp_path: Path
) -> None:
    """pulumi-kubernetes >= 4.29 creates client-side: a plain up fails (AlreadyExists); the recovering up sets
    PULUMI_K8S_UPSERT_EXISTING_OBJECTS (the SDK reads it into the provider's upsertExistingObjects), and the
    next one sets it back: an in-place provider update, nothing else."""
    interrupted = interrupted_while_creating(first, t.SDK_JOB)
    with pytest.raises(EvaluationFailed, match="already exists"):
        evaluate(prior=interrupted.cleared())
    result, env = recover(interrupted, tmp_path)
    assert env == {ADOPT: "{}", UPSERT: "true"}
    assert "Kubernetes object: the next up applies it over any that exists" in result.stderr
    after = evaluate(prior=interrupted.cleared(), environ=env)
    assert custom(after, t.SDK_JOB).step == "create"
    assert evaluate(prior=after).changes(after) == {
        "namespace-workload-identity-demo-kubernetes": "update: upsertExistingObjects"
    }


def test_a_resource_the_interruption_never_reached_is_created_as_usual(first: Evaluation, tmp_path: Path) -> None:
    interrupted = interrupted_while_creating(first, "cluster")
    world = dict(interrupted.state.world.objects)
    del world[custom(first, "cluster").id]  # ARM had not accepted it
    never = Interrupted(
        dataclasses.replace(interrupted.state, world=dataclasses.replace(interrupted.state.world, objects=world)),
        interrupted.pending,
    )
    result, env = recover(never, tmp_path)
    assert env == {ADOPT: "{}"}
    assert "not in Azure: created by the next up" in result.stderr
    assert custom(evaluate(prior=never.cleared()), "cluster").step == "create"


def test_nothing_pending_is_silent(first: Evaluation, tmp_path: Path) -> None:
    export = {"version": 3, "deployment": {"resources": []}}
    result = subprocess.run(
        [sys.executable, str(RECOVER)], input=json.dumps(export), capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("done", [1, 2, 3])
def test_a_destroy_interrupted_between_rounds_finishes_with_destroy_again(first: Evaluation, done: int) -> None:
    """Killed after `done` rounds of deletes, with one delete of the next round in flight: the deleted ones
    left the state; the one in flight stays (its pending "deleting" operation is dropped by the next
    operation: journal.go carries only creates over), and may be gone. `pulumi destroy` again refreshes
    first (`options.refresh: always`): what is gone leaves the state, and the rest goes in the same order
    (tests/stack/refresh.py, tests/stack/destroy.py)."""
    rounds = Destroy(first, DOCUMENTED_DEPLOYER).rounds()
    deleted = {r.urn for round_ in rounds[:done] for r in round_}
    in_flight = next(r for r in rounds[done] if r.custom)
    # The refresh drops the one whose delete went through (a 404 on read).
    again = dataclasses.replace(
        first, resources=freeze([r for r in first.resources if r.urn not in deleted | {in_flight.urn}])
    )
    assert in_flight.urn not in again.by_urn
    assert Destroy(again, DOCUMENTED_DEPLOYER).run() == []
    assert [r.urn for round_ in Destroy(again, DOCUMENTED_DEPLOYER).rounds() for r in round_] == [
        r.urn for round_ in rounds[done:] for r in round_ if r.urn != in_flight.urn
    ]


def test_a_pending_delete_is_a_note_not_a_stop(first: Evaluation, tmp_path: Path) -> None:
    interrupted = interrupted_while_creating(first, "cluster")
    export = interrupted.export(operation="deleting")
    result = subprocess.run(
        [sys.executable, str(RECOVER)], input=json.dumps(export), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"note: {interrupted.pending[0].urn} (interrupted while deleting): settled by")


@pytest.mark.parametrize("name", ["demo-federation"])
def test_a_resource_deleted_by_hand_is_created_again_by_the_next_up(first: Evaluation, name: str) -> None:
    """The refresh before `up` finds it gone and drops it from the state; `up` creates it again, the same
    (a federated credential: the same issuer, subject and audience) (tests/stack/refresh.py)."""
    removed = custom(first, name)
    world = first.world.copy()
    world.objects.pop(removed.id, None)
    world.cluster_objects.pop(f"{removed.type} {removed.id}", None)
    gone = refreshed(dataclasses.replace(first, world=world.frozen()), gone=[name])
    after = evaluate(prior=gone)
    assert custom(after, name).step == "create"
    assert custom(after, name).inputs == removed.inputs
    assert evaluate(prior=after).changes(after) == {}


def test_a_failed_job_is_replaced_and_runs_again_at_the_next_up(first: Evaluation) -> None:
    """A Job that failed (propagation slower than its budget) fails `up`; the next `up` replaces it, as its
    replaceUnready annotation asks, and it reads again; the one after changes nothing."""
    job = custom(first, t.SDK_JOB)
    world = first.world.copy()
    key = f"{job.type} {job.id}"
    world.cluster_objects[key] = {**world.cluster_objects[key], "status": {"failed": 1}}
    failed = dataclasses.replace(first, world=world.frozen())
    again = evaluate(prior=failed)
    assert custom(again, t.SDK_JOB).step == "replace"
    assert custom(again, t.FILE_JOB).step == "same"
    assert evaluate(prior=again).changes(again) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "WORKLOAD_ID_ADOPT is not JSON"),
        ('["an id"]', "WORKLOAD_ID_ADOPT must be an object of URN to id"),
        (
            json.dumps({"urn:pulumi:prod::aks-workload-identity-keyvault::azure-native:x:Y::cluster": "/id"}),
            "of stack 'prod', not 'dev'",
        ),
    ],
)
def test_a_bad_adoption_stops_the_program_with_one_line_before_any_resource(value: str, message: str) -> None:
    with pytest.raises(EvaluationFailed) as raised:
        evaluate(environ={"WORKLOAD_ID_ADOPT": value})
    assert_printed_as_one_line(raised.value.cause)
    assert message in str(raised.value.cause)
    assert raised.value.resources == []


@pytest.mark.parametrize("copy_exists", [True, False], ids=["second copy in Azure", "not created"])
def test_an_interrupted_replacement_is_told_apart_from_a_create(
    first: Evaluation, tmp_path: Path, copy_exists: bool
) -> None:
    """A grant replaced create-before-delete (a new principal, a new role): the old one is still recorded and
    the new one, under a new GUID, was in flight. A second copy would make the next up's create fail with
    RoleAssignmentExists, so it is named for deletion; without one, the next up replaces it again."""
    old = custom(first, "demo.demo-secret-secrets-user")
    new_id = old.id.rsplit("/", 1)[0] + "/99999999-8888-7777-6666-555555555555"
    in_flight = dataclasses.replace(old, inputs={**old.inputs, "roleAssignmentName": new_id.rsplit("/", 1)[1]})
    world = first.world.copy()
    if copy_exists:
        world.objects[new_id] = {"id": new_id}
    result, _ = recover(Interrupted(dataclasses.replace(first, world=world.frozen()), (in_flight,)), tmp_path)
    if copy_exists:
        assert result.returncode == 1
        assert f"left a second copy in Azure: {new_id}" in result.stderr
        assert f"az resource delete --ids {new_id}" in result.stderr
    else:
        assert result.returncode == 3, result.stderr
        assert "an interrupted replacement: the next up replaces it again" in result.stderr
