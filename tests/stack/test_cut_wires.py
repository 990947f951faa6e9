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


THREE_WORKLOAD_CUTS = [cut for cut in CUTS if cut not in DEMO_ONLY]


@pytest.mark.parametrize("cut", THREE_WORKLOAD_CUTS, ids=THREE_WORKLOAD_CUTS)
def test_a_cut_wire_is_caught_among_three_workloads(cut: str) -> None:
    check = CUTS[cut].check
    check(evaluate(THREE_WORKLOADS))
    with pytest.raises(AssertionError):
        check(evaluate(THREE_WORKLOADS, cut=CUTS[cut]))


def test_cuts_cover_every_wiring_check() -> None:
    covered = {cut.check for cut in CUTS.values()}
    assert covered >= set(wiring.ALL_CHECKS)
