"""The first `up`, simulated on the engine's schedule: each resource starts when everything it depends
on (explicitly, through a property, or through its provider) has finished, as the engine's step
executor runs them in parallel. The federated credential must be created beside the Kubernetes
objects, not behind them: Entra ID then has the whole Kubernetes side of the deployment to
propagate it before the Job's first token exchange."""

from __future__ import annotations

import pytest

from tests.conftest import Deployed
from tests.stack import constants as t
from tests.stack.harness import Evaluation, Registered

# Typical creation times, in seconds; only their order of magnitude matters here.
SECONDS = {t.CLUSTER: 420, t.MANAGED_NAMESPACE: 30, t.REGISTRY: 30, t.VAULT: 30, t.JOB: 60, t.DOCKER_IMAGE: 120}
COMMAND_SECONDS = {"acr-build": 90, "rbac-ready": 90}


def duration(resource: Registered) -> float:
    if not resource.custom:
        return 0
    if resource.type == t.COMMAND:
        return next((s for suffix, s in COMMAND_SECONDS.items() if resource.name.endswith(suffix)), 1)
    return SECONDS.get(resource.type, 10)


def schedule(ev: Evaluation) -> dict[str, tuple[float, float]]:
    """name -> (start, finish) in seconds from the start of the `up`."""
    finish: dict[str, float] = {}
    times: dict[str, tuple[float, float]] = {}

    def done(resource: Registered) -> float:
        if resource.urn not in finish:
            deps = ev.engine_dependencies(resource)
            start = max((done(ev.by_urn[d]) for d in deps if d in ev.by_urn), default=0.0)
            finish[resource.urn] = start + duration(resource)
            times[resource.name] = (start, finish[resource.urn])
        return finish[resource.urn]

    for resource in ev.resources:
        done(resource)
    return times


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_federated_credential_is_created_beside_the_service_account_not_behind_it(
    deployed: Deployed, stack: str
) -> None:
    times = schedule(deployed(stack))
    fic_start, fic_finish = times["demo-federation"]
    sa_start, _ = times["demo-sa"]
    job_start, _ = times["demo-demo-secret-job"]
    assert fic_finish <= sa_start, "the credential waits for the ServiceAccount"
    # It waits only for the cluster (its issuer): the namespace, the RBAC wait and the Kubernetes
    # objects all run after it, and give Entra ID that long to propagate the credential.
    assert fic_start == times["cluster"][1]
    assert job_start - fic_finish >= COMMAND_SECONDS["rbac-ready"]
