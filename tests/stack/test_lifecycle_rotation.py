"""Scheduled rotation (secretRotationDays): an `up` inside the period changes nothing; the first `up` after it
writes a new value with a new expiry, and the Jobs re-run to prove the new fingerprint.

prod ships secretRotationDays 60 and secretExpiryDays 90. Time passes in the emulated world; a pulumiverse-time
Rotating drops out of the state when a refresh reads it after its rotation time (tests/stack/refresh.py cites the
provider), which every `up` does (Pulumi.yaml options.refresh: always).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import Deployed
from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.harness import ROOT, Evaluation, Registered, evaluate_stack
from tests.stack.refresh import refreshed

DAY = 86400


def expected_fingerprint(job: Registered) -> str:
    return {e["name"]: e["value"] for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}[
        "EXPECTED_SECRET_FINGERPRINT"
    ]


def value_and_expiry(ev: Evaluation) -> tuple[str, int]:
    properties = ev.one(t.SECRET).inputs["properties"]
    return properties["value"], properties["attributes"]["expires"]


def test_every_up_refreshes_first_so_a_rotation_falls_due() -> None:
    """The rotation is seen only by a refresh (a plain diff compares inputs): the project makes every up,
    preview and destroy refresh first (pulumi/pulumi pkg/cmd/pulumi/operations/io.go getRefreshOption)."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["options"]["refresh"] == "always"


def test_the_rotation_is_the_generated_values_keeper_and_the_expiry_counts_from_it(deployed: Deployed) -> None:
    prod = deployed("prod")
    rotation, password = prod.one(t.TIME_ROTATING), prod.one(t.RANDOM_PASSWORD)
    assert rotation.inputs["rotationDays"] == 60
    assert password.inputs["keepers"] == {"rotation": rotation.id}
    assert rotation.urn in password.property_dependencies["keepers"]
    value, expires = value_and_expiry(prod)
    assert value == password.outputs["result"]
    assert expires == rotation.outputs["unix"] - 60 * DAY + 90 * DAY  # set at the rotation's start, +90 days


@pytest.mark.parametrize("days", [1, 30, 59])
def test_an_up_inside_the_period_changes_nothing(deployed: Deployed, days: int) -> None:
    state = refreshed(deployed("prod"), later=timedelta(days=days))
    assert evaluate_stack("prod", prior=state, preview=True).changes(state) == {}
    first, second = (evaluate_stack("prod", prior=state, fresh=True) for _ in range(2))
    assert first.inputs_by_urn() == second.inputs_by_urn() == state.inputs_by_urn()


def test_the_first_up_after_the_period_rotates_the_value_renews_the_expiry_and_reruns_the_job(
    deployed: Deployed,
) -> None:
    prod = deployed("prod")
    state = refreshed(prod, later=timedelta(days=61))
    preview = evaluate_stack("prod", prior=state, preview=True).changes(state)
    assert preview == {
        "secret-store-demo-secret-rotation": "create",
        "secret-store-demo-secret-value": "replace: keepers",
        "secret-store-demo-secret-secret": "update: properties",
        "demo-demo-secret-job": "replace: spec",
    }
    rotated = evaluate_stack("prod", prior=state)
    (old_value, old_expiry), (new_value, new_expiry) = value_and_expiry(prod), value_and_expiry(rotated)
    assert new_value != old_value
    assert new_expiry == old_expiry + 61 * DAY
    job = rotated.one(t.JOB, t.SDK_JOB)
    assert expected_fingerprint(job) == wiring.salted_fingerprint(job, new_value)
    # The next period starts now: an up the day after changes nothing again.
    settled = refreshed(rotated, later=timedelta(days=1))
    assert evaluate_stack("prod", prior=settled, preview=True).changes(settled) == {}


def test_with_csi_both_jobs_rerun_after_a_rotation() -> None:
    deployed = evaluate_stack("dev", {"secretRotationDays": 30})
    state = refreshed(deployed, later=timedelta(days=31))
    changes = evaluate_stack("dev", {"secretRotationDays": 30}, prior=state, preview=True).changes(state)
    assert changes["demo-demo-secret-job"] == changes["demo-demo-secret-file-job"] == "replace: spec"
    rotated = evaluate_stack("dev", {"secretRotationDays": 30}, prior=state)
    value = rotated.one(t.SECRET).inputs["properties"]["value"]
    assert value != deployed.one(t.SECRET).inputs["properties"]["value"]
    assert {expected_fingerprint(job) for job in rotated.of_type(t.JOB)} == {
        wiring.salted_fingerprint(job, value) for job in rotated.of_type(t.JOB)
    }


def test_a_configured_value_keeps_its_value_and_only_its_expiry_is_renewed() -> None:
    config, secrets = {"secretRotationDays": 30, "secretExpiryDays": 45}, {"secretValue": "team-managed-value"}
    deployed = evaluate_stack("dev", config, secrets=secrets)
    state = refreshed(deployed, later=timedelta(days=31))
    changes = evaluate_stack("dev", config, secrets=secrets, prior=state, preview=True).changes(state)
    assert changes == {
        "secret-store-demo-secret-rotation": "create",
        "secret-store-demo-secret-set-at": "replace: triggers",
        "secret-store-demo-secret-secret": "update: properties",
    }
    rotated = evaluate_stack("dev", config, secrets=secrets, prior=state)
    (old_value, old_expiry), (new_value, new_expiry) = value_and_expiry(deployed), value_and_expiry(rotated)
    assert new_value == old_value == "team-managed-value"
    assert new_expiry == old_expiry + 31 * DAY


def test_without_rotation_time_passing_changes_nothing(deployed: Deployed) -> None:
    state = refreshed(deployed("dev"), later=timedelta(days=400))
    assert evaluate_stack("dev", prior=state, preview=True).changes(state) == {}


def test_the_shell_expiry_command_is_gone() -> None:
    """The expiry comes from a kept time provider, not a script: nothing in infra/ runs `date`."""
    assert not (ROOT / "infra" / "scripts" / "expiry-epoch.sh").exists()
    sources = (p.read_text() for p in Path(ROOT / "infra").rglob("*.*") if p.is_file() and "__pycache__" not in p.parts)
    assert "date -u" not in "".join(sources)
