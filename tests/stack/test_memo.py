"""The harness's memo (tests/stack/memo.py): each distinct evaluation once, keyed by all that changes it,
its result read-only, and no patch it cannot see."""

from __future__ import annotations

import copy
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
import yaml

import workload_id.workload
from tests.stack import constants as t
from tests.stack.cuts import CUTS
from tests.stack.harness import Cut, Evaluation, evaluate
from tests.stack.memo import MEMO
from tests.stack.refresh import refreshed

# A configuration no other test evaluates, so the first run here is a real one.
OWN = {"nodeCount": 7}


@pytest.fixture(scope="module")
def own() -> Evaluation:
    return evaluate(OWN)


def test_the_same_case_runs_once_and_is_shared(own: Evaluation) -> None:
    runs = MEMO.runs
    assert evaluate(OWN) is own
    assert evaluate(dict(OWN), secrets=None, stack="dev", preview=False) is own
    assert MEMO.runs == runs


@pytest.mark.parametrize(
    "differs",
    [
        {"config": {"nodeCount": 8}},
        {"secrets": {"secretValue": "memo-key-1"}},
        {"preview": True},
        {"cut": CUTS["wrong audience"]},
        {"stack": "prod", "config": {**OWN, "authorizedIpRanges": ["52.140.10.0/24"]}},
    ],
    ids=["config", "secret", "preview", "cut", "stack"],
)
def test_each_part_of_the_key_is_its_own_case(own: Evaluation, differs: dict[str, Any]) -> None:
    options: dict[str, Any] = {"config": OWN} | differs
    assert evaluate(**options) is not own


def test_the_prior_state_is_keyed_by_its_content(own: Evaluation) -> None:
    again = evaluate(OWN, prior=own)
    rebuilt = dataclasses.replace(own, resources=[dataclasses.replace(r) for r in own.resources])
    assert evaluate(OWN, prior=rebuilt) is again, "the same state, rebuilt: the same case"
    assert evaluate(OWN, prior=refreshed(own, later=timedelta(days=400))) is not again


def test_a_fresh_evaluation_runs_for_real(own: Evaluation) -> None:
    runs = MEMO.runs
    again = evaluate(OWN, fresh=True)
    assert again is not own
    assert again.inputs_by_urn() == own.inputs_by_urn()
    assert MEMO.runs == runs + 1


def test_a_result_cannot_be_changed(own: Evaluation) -> None:
    job = own.one(t.JOB, t.SDK_JOB)
    with pytest.raises(TypeError, match="read-only"):
        job.inputs["metadata"]["namespace"] = "default"
    with pytest.raises(TypeError, match="read-only"):
        job.inputs["spec"]["template"]["spec"]["containers"].append({})
    with pytest.raises(TypeError, match="read-only"):
        own.resources.pop()
    with pytest.raises(TypeError, match="read-only"):
        own.exports.update({"x": 1})
    with pytest.raises(TypeError, match="read-only"):
        own.world.objects.clear()
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.step = "create"  # ty: ignore[invalid-assignment]  # the mistake under test
    with pytest.raises(dataclasses.FrozenInstanceError):
        own.world.now += timedelta(days=1)  # ty: ignore[invalid-assignment]  # the mistake under test


def test_a_deep_copy_is_an_ordinary_mutable_one(own: Evaluation) -> None:
    inputs = own.one(t.JOB, t.SDK_JOB).inputs
    changed = copy.deepcopy(inputs)
    changed["metadata"]["namespace"] = "default"
    assert type(changed) is dict
    assert changed != inputs
    assert copy.deepcopy(inputs) == inputs
    assert yaml.safe_load(yaml.safe_dump(inputs)) == inputs


def test_a_patch_outside_a_cut_is_refused(monkeypatch: pytest.MonkeyPatch, own: Evaluation) -> None:
    monkeypatch.setattr(workload_id.workload, "instance_labels", lambda workload: {})
    with pytest.raises(AssertionError, match=r"workload\.instance_labels is patched outside a cut"):
        evaluate(OWN)


def test_two_cuts_under_one_name_are_refused() -> None:
    impostor = Cut("wrong audience", CUTS["pod label missing"].apply)
    with pytest.raises(AssertionError, match="two different cuts are named 'wrong audience'"):
        evaluate(cut=impostor)
