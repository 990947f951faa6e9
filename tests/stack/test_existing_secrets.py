"""`secrets[].existing: true`: a secret the team's vault (existingKeyVault) already holds is granted and read,
never written, rotated or deleted. It is read once before anything is declared (refused in one line if the
vault does not hold it); its Jobs prove the read without expecting a value the stack never saw."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.destroy import Destroy
from tests.stack.harness import Evaluation, evaluate
from tests.stack.test_existing_resources import EXISTING, VAULT_ID, refusal, vault_exists
from tests.stack.test_lifecycle_destroy import DOCUMENTED_DEPLOYER

# One worker with the other existing-resource tests: the memo evaluates the team's vault once.
pytestmark = pytest.mark.xdist_group("existing resources")

TEAM_SECRET = "team-api-key"
TEAM_SECRET_ID = f"{VAULT_ID}/secrets/{TEAM_SECRET}"
# orders reads the team's secret (as a file too); reports does not, so its isolation Job must be refused it.
REFERENCING: dict[str, Any] = {
    "secretDelivery": "sdk",
    "secrets": [{"name": "orders-db"}, {"name": TEAM_SECRET, "existing": True}],
    "workloads": [
        {
            "name": "orders",
            "namespace": "shop",
            "serviceAccount": "orders",
            "secrets": ["orders-db", TEAM_SECRET],
            "delivery": "both",
        },
        {"name": "reports", "namespace": "analytics", "serviceAccount": "reports", "secrets": ["orders-db"]},
    ],
}


def team_secret_held() -> Evaluation:
    """The team's vault holding its own secret (the team's tags, not this stack's)."""
    world = vault_exists().world.copy()
    world.objects[TEAM_SECRET_ID] = {
        "id": TEAM_SECRET_ID,
        "name": TEAM_SECRET,
        "type": "Microsoft.KeyVault/vaults/secrets",
        "tags": {"owner": "payments-team"},
        "properties": {"secretUri": f"https://kv-shared.vault.azure.net/secrets/{TEAM_SECRET}"},
    }
    return dataclasses.replace(vault_exists(), world=world.frozen())


def renamed(secret: str) -> dict[str, Any]:
    """REFERENCING with the team's secret called `secret`."""
    secrets = [{"name": "orders-db"}, {"name": secret, "existing": True}]
    workloads = [
        w | {"secrets": [secret if s == TEAM_SECRET else s for s in w["secrets"]]} for w in REFERENCING["workloads"]
    ]
    return REFERENCING | {"secrets": secrets, "workloads": workloads}


@pytest.fixture(scope="module")
def referencing() -> Evaluation:
    return evaluate(EXISTING | REFERENCING, prior=team_secret_held())


def test_the_teams_secret_is_granted_and_read_but_never_written(referencing: Evaluation) -> None:
    assert {s.inputs["secretName"] for s in referencing.of_type(t.SECRET)} == {"orders-db"}
    grants = {g.name: g.inputs["scope"] for g in referencing.of_type(t.ROLE_ASSIGNMENT) if "secrets-user" in g.name}
    assert grants[f"orders.{TEAM_SECRET}-secrets-user"] == TEAM_SECRET_ID
    assert [name for name, scope in grants.items() if scope == TEAM_SECRET_ID] == [f"orders.{TEAM_SECRET}-secrets-user"]
    for check in wiring.ALL_CHECKS:
        check(referencing)
    generated = referencing.named("secret-store-orders-db-value").outputs["result"]
    wiring.check_job_inputs(referencing, {"orders-db": generated})  # none is expected of the team's secret


def test_its_jobs_prove_the_read_with_a_salt_and_no_expected_value(referencing: Evaluation) -> None:
    jobs = [j for j in referencing.of_type(t.JOB) if TEAM_SECRET in j.name]
    assert {j.name for j in jobs} == {f"orders-{TEAM_SECRET}-job", f"orders-{TEAM_SECRET}-file-job"}
    for job in jobs:
        env = wiring._env(job)
        assert "EXPECTED_SECRET_FINGERPRINT" not in env
        assert len(env["FINGERPRINT_SALT"]) == 20
    (spc,) = referencing.of_type(t.SECRET_PROVIDER_CLASS)
    assert TEAM_SECRET in spc.inputs["spec"]["parameters"]["objects"]


def test_a_workload_not_granted_it_is_proven_refused_it(referencing: Evaluation) -> None:
    env = wiring._env(referencing.named("reports-isolation-job"))
    assert (env["DENIED_SECRET_NAME"], env["DENIED_SECRET_OWNERS"]) == (TEAM_SECRET, "orders")


def test_the_teams_secret_is_no_secret_of_the_stack_and_never_retired(referencing: Evaluation) -> None:
    """Listed apart from the secrets the stack writes: dropped from config, it is not retired (the history would
    adopt, and write, a retired name that comes back)."""
    assert (referencing.exports["secretNames"], referencing.exports["existingSecretNames"]) == (
        ["orders-db"],
        [TEAM_SECRET],
    )
    dropped = REFERENCING | {
        "secrets": [{"name": "orders-db"}],
        "workloads": [w | {"secrets": ["orders-db"]} for w in REFERENCING["workloads"]],
    }
    assert evaluate(EXISTING | dropped, prior=referencing).exports["retiredSecretNames"] == []


def test_a_second_up_changes_nothing_and_destroy_leaves_the_secret(referencing: Evaluation) -> None:
    assert evaluate(EXISTING | REFERENCING, prior=referencing).changes(referencing) == {}
    assert Destroy(referencing, DOCUMENTED_DEPLOYER).run() == []
    assert TEAM_SECRET_ID not in {r.id for r in referencing.resources}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            EXISTING | renamed("team-other"),
            "config 'secrets': 'team-other' is existing, but vault kv-shared cannot give it (ResourceNotFound: ",
        ),
        (
            REFERENCING,
            "config 'secrets[1].existing': applies only with existingKeyVault",
        ),
        (
            EXISTING | REFERENCING | {"secrets": [{"name": "orders-db"}, {"name": TEAM_SECRET, "existing": "yes"}]},
            "config 'secrets[1].existing': 'yes' is not a boolean",
        ),
        (
            EXISTING
            | REFERENCING
            | {"secrets": [{"name": "orders-db"}, {"name": TEAM_SECRET, "existing": True, "expiryDays": 90}]},
            "config 'secrets[1].expiryDays': describes a value the stack writes",
        ),
    ],
    ids=["not in the vault", "without an existing vault", "not a boolean", "with an expiry"],
)
def test_a_bad_existing_secret_is_refused_in_one_line_before_any_resource(config: dict[str, Any], message: str) -> None:
    assert refusal(config, team_secret_held()).startswith(message)


def test_a_disabled_team_secret_is_refused_before_any_resource() -> None:
    held = team_secret_held()
    world = held.world.copy()
    secret = world.objects[TEAM_SECRET_ID]
    world.objects[TEAM_SECRET_ID] = secret | {"properties": {**secret["properties"], "attributes": {"enabled": False}}}
    message = refusal(EXISTING | REFERENCING, dataclasses.replace(held, world=world.frozen()))
    assert message == (
        f"config 'secrets': '{TEAM_SECRET}' is existing, but disabled in vault kv-shared: no one can read it. Fix: az"
        f" keyvault secret set-attributes --vault-name kv-shared --name {TEAM_SECRET} --enabled true"
    )


def test_forgetting_existing_on_the_teams_secret_names_that_fix() -> None:
    """Listed without `existing: true`, the stack would write the team's secret: refused, pointing at `existing`."""
    message = refusal(
        EXISTING | renamed(TEAM_SECRET) | {"secrets": [{"name": "orders-db"}, {"name": TEAM_SECRET}]},
        team_secret_held(),
    )
    assert (
        f"already holds a secret '{TEAM_SECRET}' that is not this stack's. Fix: to read that one, list it in" in message
    )
    assert "{name, existing: true}" in message
