"""`pulumi up --refresh` (docs/lifecycle.md's way to re-run the Job) changes nothing but the Job.

The state is refreshed as each provider's Read does it (tests/stack/refresh.py), then the program
runs against it as the next `up` would."""

from __future__ import annotations

import pytest

from tests.conftest import Deployed
from tests.stack import constants as t
from tests.stack.azure_model import api_server_view, canonical_quantity
from tests.stack.harness import Evaluation, evaluate_stack
from tests.stack.refresh import aks_patch_upgrade, refreshed

STACKS = ["dev", "prod"]


def next_preview(stack: str, prior: Evaluation) -> Evaluation:
    return evaluate_stack(stack, prior=prior, preview=True)


@pytest.mark.parametrize("stack", STACKS)
def test_refresh_reads_every_object_back_as_declared(deployed: Deployed, stack: str) -> None:
    state = refreshed(deployed(stack))
    assert next_preview(stack, state).changes(state) == {}


@pytest.mark.parametrize("stack", STACKS)
def test_refresh_after_an_aks_patch_upgrade_changes_nothing(deployed: Deployed, stack: str) -> None:
    """dev leaves the version to AKS, which reads back as the running patch; prod pins a minor alias."""
    state = refreshed(deployed(stack), drift=aks_patch_upgrade)
    assert state.one(t.CLUSTER).outputs["currentKubernetesVersion"] == "1.34.3"
    assert next_preview(stack, state).changes(state) == {}


def test_a_version_change_in_config_still_reaches_the_cluster_and_its_pool(deployed: Deployed) -> None:
    state = refreshed(deployed("prod"), drift=aks_patch_upgrade)
    after = evaluate_stack("prod", {"kubernetesVersion": "1.35"}, prior=state, preview=True)
    assert after.changes(state) == {"cluster": "update: agentPoolProfiles, kubernetesVersion"}
    cluster = after.one(t.CLUSTER).inputs
    assert cluster["kubernetesVersion"] == "1.35"
    assert [pool["orchestratorVersion"] for pool in cluster["agentPoolProfiles"]] == ["1.35"]


def test_after_its_ttl_the_job_is_gone_and_the_next_up_runs_it_again(dev: Evaluation) -> None:
    state = refreshed(dev, gone={"demo-demo-secret-job"})
    assert next_preview("dev", state).changes(state) == {"demo-demo-secret-job": "create"}


def test_kubernetes_objects_declare_nothing_the_api_server_would_rewrite(dev: Evaluation) -> None:
    for resource in dev.resources:
        if resource.type.startswith("kubernetes:") and resource.custom:
            assert api_server_view(resource.inputs) == resource.inputs, resource.name


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("50m", "50m"),
        ("0.5", "500m"),
        ("1000m", "1"),
        ("2", "2"),
        ("64Mi", "64Mi"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
    ],
)
def test_quantities_are_compared_in_the_form_the_api_server_returns(given: str, canonical: str) -> None:
    assert canonical_quantity(given) == canonical
