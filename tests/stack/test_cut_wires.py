"""Cut one wire at a time in the real program (tests/stack/cuts.py) and prove the wiring checks notice.
A wiring suite that stays green here would be decoration, not a test.
"""

from __future__ import annotations

import pytest

from tests.stack import wiring
from tests.stack.cuts import CUTS, DEMO_ONLY
from tests.stack.harness import evaluate
from tests.stack.stacks import THREE_WORKLOADS


@pytest.mark.parametrize("cut", list(CUTS), ids=list(CUTS))
def test_a_cut_wire_is_caught(cut: str) -> None:
    check = CUTS[cut].check
    check(evaluate())  # intact: the check passes
    broken = evaluate(cut=CUTS[cut])
    with pytest.raises(AssertionError):
        check(broken)


# Among three workloads, one cut per wiring check (every cut is caught in the default config above): each check
# is shown to find the broken workload among others that are wired right.
THREE_WORKLOAD_CUTS = [
    "wrong audience",
    "NetworkPolicy in another namespace",
    "no client-id annotation",
    "Secrets User at resource-group scope",
    "Job does not wait for the role assignments",
    "class names another secret",
]


@pytest.mark.parametrize("cut", THREE_WORKLOAD_CUTS, ids=THREE_WORKLOAD_CUTS)
def test_a_cut_wire_is_caught_among_three_workloads(cut: str) -> None:
    check = CUTS[cut].check
    check(evaluate(THREE_WORKLOADS))
    with pytest.raises(AssertionError):
        check(evaluate(THREE_WORKLOADS, cut=CUTS[cut]))


def test_the_three_workload_cuts_cover_every_wiring_check() -> None:
    assert not set(THREE_WORKLOAD_CUTS) & DEMO_ONLY
    assert {CUTS[cut].check for cut in THREE_WORKLOAD_CUTS} == set(wiring.ALL_CHECKS)


def test_cuts_cover_every_wiring_check() -> None:
    covered = {cut.check for cut in CUTS.values()}
    assert covered >= set(wiring.ALL_CHECKS)
