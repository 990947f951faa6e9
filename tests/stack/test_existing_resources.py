"""`existingKeyVault` and `existingRegistry`: the secrets go into a vault, and the image into a registry, the
stack does not own. Each is read once before anything is declared (refused in one line if missing, or a vault
in access-policy mode), never declared, so never updated or deleted."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.azure_model import TENANT_ID, World, arm_id
from tests.stack.destroy import Destroy
from tests.stack.harness import Evaluation, EvaluationFailed, evaluate
from tests.stack.memo import freeze
from tests.stack.stacks import THREE_WORKLOADS
from tests.stack.test_config import assert_printed_as_one_line
from tests.stack.test_lifecycle_destroy import DOCUMENTED_DEPLOYER

# One worker for these and the policy pack's check of the same stack: the memo evaluates each once.
pytestmark = pytest.mark.xdist_group("existing resources")

GROUP, NAME = "rg-shared", "kv-shared"
VAULT_ID = arm_id(GROUP, "Microsoft.KeyVault/vaults", NAME)
EXISTING = {"existingKeyVault": {"resourceGroup": GROUP, "name": NAME}}


REGISTRY_GROUP, REGISTRY = "rg-shared", "acrshared"
REGISTRY_ID = arm_id(REGISTRY_GROUP, "Microsoft.ContainerRegistry/registries", REGISTRY)
EXISTING_REGISTRY = {"existingRegistry": {"resourceGroup": REGISTRY_GROUP, "name": REGISTRY}}


def vault_exists(rbac: bool = True) -> Evaluation:
    """A stack with nothing deployed yet, in a subscription that holds the team's vault and registry."""
    vault = {
        "id": VAULT_ID,
        "name": NAME,
        "location": "westeurope",
        "type": "Microsoft.KeyVault/vaults",
        "properties": {
            "tenantId": TENANT_ID,
            "sku": {"family": "A", "name": "standard"},
            "enableRbacAuthorization": rbac,
            "vaultUri": f"https://{NAME}.vault.azure.net/",
        },
    }
    registry = {
        "id": REGISTRY_ID,
        "name": REGISTRY,
        "location": "westeurope",
        "type": "Microsoft.ContainerRegistry/registries",
        "loginServer": f"{REGISTRY}.azurecr.io",
        "sku": {"name": "Standard"},
        "adminUserEnabled": False,
    }
    return nothing_deployed({VAULT_ID: vault, REGISTRY_ID: registry})


def nothing_deployed(objects: dict[str, dict[str, Any]]) -> Evaluation:
    """A stack with nothing in its state, in a subscription that holds `objects` (ARM id -> object)."""
    return Evaluation(
        resources=freeze([]),
        invokes=freeze([]),
        exports=freeze({}),
        secret_exports=frozenset(),
        unknown_exports=frozenset(),
        world=World(objects=objects).frozen(),
        preview=False,
    )


def refusal(config: dict[str, Any], prior: Evaluation) -> str:
    """The one line the program stops with, before declaring any resource, for `config` in `prior`'s world."""
    with pytest.raises(EvaluationFailed) as raised:
        evaluate(config, prior=prior)
    assert_printed_as_one_line(raised.value.cause)
    assert [r for r in raised.value.resources if r.custom] == []
    return str(raised.value.cause)


def adopting(config: dict[str, Any] | None = None, **options: Any) -> Evaluation:
    return evaluate(EXISTING | dict(config or {}), prior=vault_exists(), **options)


@pytest.fixture(scope="module")
def up() -> Evaluation:
    return adopting()


def test_no_vault_is_declared_and_the_secrets_go_into_the_existing_one(up: Evaluation) -> None:
    assert up.of_type(t.VAULT) == []
    for secret in up.of_type(t.SECRET):
        assert (secret.inputs["vaultName"], secret.inputs["resourceGroupName"]) == (NAME, GROUP)
        assert secret.id == f"{VAULT_ID}/secrets/{secret.inputs['secretName']}"
    assert up.exports["keyVaultUri"] == f"https://{NAME}.vault.azure.net/"


def test_every_workload_is_wired_to_the_existing_vault(up: Evaluation) -> None:
    for check in wiring.ALL_CHECKS:
        check(up)
    grants = [g for g in up.of_type(t.ROLE_ASSIGNMENT) if g.name.endswith("secrets-user")]
    assert {g.inputs["scope"] for g in grants} == {f"{VAULT_ID}/secrets/demo-secret"}
    for job in up.of_type(t.JOB):
        env = wiring._env(job)
        assert env.get("VAULT_URL", f"https://{NAME}.vault.azure.net/") == f"https://{NAME}.vault.azure.net/"


def test_the_first_preview_knows_the_vault_and_the_next_up_changes_nothing(up: Evaluation) -> None:
    preview = adopting(preview=True)
    assert preview.exports["keyVaultUri"] == f"https://{NAME}.vault.azure.net/"
    assert evaluate(EXISTING, prior=up).changes(up) == {}


def test_destroy_leaves_the_vault_and_what_the_stack_wrote_into_it(up: Evaluation) -> None:
    """The vault is not in the state, so no step can delete it; the secrets are kept on delete (no data-plane
    delete needed), and stay in the vault: docs/existing-resources.md says how to remove them."""
    assert Destroy(up, DOCUMENTED_DEPLOYER).run() == []
    assert all(s.retain_on_delete for s in up.of_type(t.SECRET))
    assert VAULT_ID not in {r.id for r in up.resources}


@pytest.mark.parametrize(
    ("world", "config", "message"),
    [
        (
            vault_exists(rbac=False),
            EXISTING,
            f"config 'existingKeyVault': vault {NAME} in resource group {GROUP} uses access policies",
        ),
        (
            vault_exists(),
            {"existingKeyVault": {"resourceGroup": GROUP, "name": "kv-other"}},
            f"config 'existingKeyVault': vault kv-other in resource group {GROUP} cannot be read",
        ),
        (
            vault_exists(),
            {"existingKeyVault": {"name": NAME}},
            "config 'existingKeyVault': must be {resourceGroup, name}",
        ),
        (
            vault_exists(),
            EXISTING | {"keyVaultPurgeProtection": True},
            "config 'keyVaultPurgeProtection': applies only to a vault this stack creates",
        ),
        (
            vault_exists(),
            EXISTING | {"keyVaultAllowedIpRanges": ["52.140.10.0/24"]},
            "config 'keyVaultAllowedIpRanges': applies only to a vault this stack creates",
        ),
    ],
    ids=["access policies", "no such vault", "no resource group", "purge protection", "firewall ranges"],
)
def test_a_vault_the_stack_cannot_use_is_refused_in_one_line_before_any_resource(
    world: Evaluation, config: dict[str, Any], message: str
) -> None:
    assert refusal(config, world).startswith(message)


@pytest.fixture(scope="module")
def both() -> Evaluation:
    """Three workloads on the team's vault and registry: the stack creates neither."""
    return adopting(EXISTING_REGISTRY | THREE_WORKLOADS)


def test_the_image_goes_into_the_existing_registry_and_the_kubelet_may_pull_it(both: Evaluation) -> None:
    assert both.of_type(t.REGISTRY) == []
    assert both.of_type(t.VAULT) == []
    assert {s.inputs["vaultName"] for s in both.of_type(t.SECRET)} == {NAME}, "three workloads' secrets, one vault"
    build = both.named("app-image-acr-build")
    assert build.inputs["environment"]["REGISTRY_NAME"] == REGISTRY
    assert both.exports["image"].startswith(f"{REGISTRY}.azurecr.io/keyvault-reader-demo:")
    (acr_pull,) = wiring.acr_pulls_of(both)
    assert acr_pull.inputs["scope"] == REGISTRY_ID
    for check in wiring.ALL_CHECKS:
        check(both)


def test_on_the_teams_vault_and_registry_a_second_up_changes_nothing_and_destroy_leaves_them(both: Evaluation) -> None:
    assert evaluate(EXISTING | EXISTING_REGISTRY | THREE_WORKLOADS, prior=both).changes(both) == {}
    assert Destroy(both, DOCUMENTED_DEPLOYER).run() == []
    assert not {VAULT_ID, REGISTRY_ID} & {r.id for r in both.resources}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"existingRegistry": {"resourceGroup": REGISTRY_GROUP, "name": "acrother"}},
            f"config 'existingRegistry': registry acrother in resource group {REGISTRY_GROUP} cannot be read",
        ),
        (EXISTING_REGISTRY | {"acrSku": "Premium"}, "config 'acrSku': applies only to a registry this stack creates"),
    ],
    ids=["no such registry", "sku"],
)
def test_a_registry_the_stack_cannot_use_is_refused_in_one_line_before_any_resource(
    config: dict[str, Any], message: str
) -> None:
    assert refusal(config, vault_exists()).startswith(message)


def test_a_secret_renamed_back_in_the_existing_vault_is_adopted_from_it(up: Evaluation) -> None:
    """The vault keeps a renamed-away secret (tests/stack/test_lifecycle_rename.py); here the vault is in its
    own resource group, which the adopted secret's id must name."""
    renamed = evaluate(EXISTING | {"secretName": "other-secret"}, prior=up)
    back = evaluate(EXISTING, prior=renamed)
    secret = back.named("secret-store-demo-secret-secret")
    assert (secret.step, secret.id) == ("import", f"{VAULT_ID}/secrets/demo-secret")


def after_destroy(up: Evaluation) -> Evaluation:
    """What a `destroy` leaves: the team's vault, and the secrets the stack wrote into it (kept on delete)."""
    kept = {VAULT_ID} | {s.id for s in up.of_type(t.SECRET)}
    return nothing_deployed({rid: obj for rid, obj in up.world.objects.items() if rid in kept})


def test_an_up_after_a_destroy_adopts_the_secrets_the_vault_kept(up: Evaluation) -> None:
    """Before: `cannot create already existing resource '.../secrets/demo-secret'` (the vault keeps it)."""
    again = evaluate(EXISTING, prior=after_destroy(up))
    secret = again.named("secret-store-demo-secret-secret")
    assert (secret.step, secret.id) == ("import", f"{VAULT_ID}/secrets/demo-secret")


def test_a_secret_of_the_same_name_that_is_not_the_stacks_is_refused(up: Evaluation) -> None:
    """Another stack's (or the team's own) secret of that name: writing it would overwrite its value."""
    destroyed = after_destroy(up)
    world = destroyed.world.copy()
    secret_id = f"{VAULT_ID}/secrets/demo-secret"
    world.objects[secret_id] = {**world.objects[secret_id], "tags": {"owner": "payments-team"}}
    message = refusal(EXISTING, dataclasses.replace(destroyed, world=world.frozen()))
    assert "already holds a secret 'demo-secret' that is not this stack's" in message
