"""`pulumi destroy` succeeds for the deployer docs/prerequisites.md documents, in dev and prod, and leaves behind
only the soft-deleted vault. Walked against each provider's real delete path (tests/stack/destroy.py)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native.keyvault as keyvault
import pytest

from tests.conftest import Deployed
from tests.stack import constants as t
from tests.stack.cuts import tamper
from tests.stack.destroy import (
    CONTRIBUTOR,
    KEY_VAULT_SECRETS_OFFICER,
    RBAC_ADMINISTRATOR,
    Deployer,
    Destroy,
)
from tests.stack.harness import DEPLOYER_OBJECT_ID, Cut, Evaluation, evaluate, evaluate_stack

# docs/prerequisites.md: Contributor, and Role Based Access Control Administrator with a condition that
# allows only the roles the stack assigns; deploying from an address inside prod's allowed ranges.
DOCUMENTED_DEPLOYER = Deployer(
    object_id=DEPLOYER_OBJECT_ID,
    roles=frozenset({CONTRIBUTOR, RBAC_ADMINISTRATOR}),
    assignable_roles=frozenset({t.ACR_PULL, t.KEY_VAULT_SECRETS_USER, t.AKS_RBAC_WRITER, t.AKS_RBAC_ADMIN}),
    address="52.140.10.20",
)


def up(stack: str, config: dict[str, Any] | None = None, cut: Cut | None = None) -> Evaluation:
    return evaluate_stack(stack, config, cut=cut)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_destroy_succeeds_for_the_documented_deployer(deployed: Deployed, stack: str) -> None:
    assert Destroy(deployed(stack), DOCUMENTED_DEPLOYER).run() == []


def test_destroy_succeeds_with_the_docker_builder_too() -> None:
    assert Destroy(up("dev", {"imageBuilder": "docker"}), DOCUMENTED_DEPLOYER).run() == []


def test_kubernetes_objects_go_first_while_the_cluster_namespace_and_the_deployers_role_remain(dev: Evaluation) -> None:
    rounds = Destroy(dev, DOCUMENTED_DEPLOYER).rounds()
    when = {r.urn: i for i, round_ in enumerate(rounds) for r in round_}
    last_kubernetes_object = max(when[r.urn] for r in dev.resources if r.type.startswith("kubernetes:") and r.custom)
    needed = [
        dev.named("namespace-workload-identity-demo-deployer-writer"),
        dev.one(t.MANAGED_NAMESPACE),
        dev.one(t.CLUSTER),
    ]
    for resource in needed:
        assert when[resource.urn] > last_kubernetes_object, resource.name


def test_nothing_is_left_behind_but_what_goes_with_its_container(dev: Evaluation) -> None:
    """Resources Pulumi keeps on delete (the secret; pushed images) are inside something destroy deletes."""
    docker = up("dev", {"imageBuilder": "docker"})
    containers = {t.SECRET: t.VAULT, t.DOCKER_IMAGE: t.REGISTRY}
    for ev in (dev, docker):
        retained = [r for r in ev.resources if r.retain_on_delete]
        assert {r.type for r in retained} <= set(containers)
        for resource in retained:
            container = ev.one(containers[resource.type])
            assert ev.depends_transitively(resource, container), f"{resource.name} outlives {container.name}"
    assert {r.type for r in dev.resources if r.retain_on_delete} == {t.SECRET}


def test_a_renamed_secrets_old_one_is_never_deleted_through_the_data_plane(dev: Evaluation) -> None:
    """A secret's resource is named from the secret, so a rename creates the new secret and deletes the old
    resource: a delete that is a no-op for a resource Pulumi keeps."""
    after = evaluate({"secretName": "renamed-secret"}, prior=dev, preview=True)
    changes = after.changes(dev)
    assert changes["secret-store-renamed-secret-secret"] == "create"
    assert changes["secret-store-demo-secret-secret"] == "delete"
    old = dev.one(t.SECRET)
    assert old.retain_on_delete
    assert Destroy(dev, DOCUMENTED_DEPLOYER)._delete(old, {r.urn for r in dev.resources}, set()) is None


def keep_the_secret_deletable(name: str, kw: dict) -> None:
    kw["opts"] = pulumi.ResourceOptions.merge(kw["opts"], pulumi.ResourceOptions(retain_on_delete=False))


SECRET_DELETABLE = Cut(
    "secret not retained on delete", lambda mp: tamper(mp, keyvault, "Secret", keep_the_secret_deletable)
)

DATA_OFFICER = Deployer(
    DEPLOYER_OBJECT_ID, frozenset({CONTRIBUTOR, KEY_VAULT_SECRETS_OFFICER}), frozenset(), "52.140.10.20"
)


@pytest.mark.parametrize(
    ("stack", "config", "deployer", "refusal"),
    [
        ("dev", {}, DOCUMENTED_DEPLOYER, "403 ForbiddenByRbac"),
        ("prod", {}, DOCUMENTED_DEPLOYER, "403 ForbiddenByFirewall"),
        ("prod", {}, DATA_OFFICER, "403 ForbiddenByFirewall"),
        ("prod", {"keyVaultAllowedIpRanges": ["52.140.10.0/24"]}, DOCUMENTED_DEPLOYER, "403 ForbiddenByRbac"),
        ("prod", {"keyVaultAllowedIpRanges": ["52.140.10.0/24"]}, DATA_OFFICER, None),
        ("dev", {}, DATA_OFFICER, None),
    ],
    ids=[
        "dev-no-data-role",
        "prod-firewall",
        "prod-data-role-but-firewall",
        "prod-allowed-but-no-data-role",
        "prod-allowed-with-data-role",
        "dev-with-data-role",
    ],
)
def test_a_deleted_secret_goes_through_the_vaults_data_plane(
    stack: str, config: dict[str, Any], deployer: Deployer, refusal: str | None
) -> None:
    """What the stack avoids: without retain-on-delete, destroy needs a data role and a way through the firewall."""
    failures = [
        f
        for f in Destroy(up(stack, config, SECRET_DELETABLE), deployer).run()
        if f.startswith("secret-store-demo-secret-secret")
    ]
    assert [f.split(": ", 1)[1].split(":")[0] for f in failures] == ([refusal] if refusal else [])


def test_destroy_from_outside_the_api_servers_authorized_ranges_stops_at_the_kubernetes_objects(
    deployed: Deployed,
) -> None:
    """Why docs/prerequisites.md asks prod's authorizedIpRanges to include the deployer's address."""
    outside = Deployer(DEPLOYER_OBJECT_ID, DOCUMENTED_DEPLOYER.roles, DOCUMENTED_DEPLOYER.assignable_roles, "20.1.2.3")
    failures = Destroy(deployed("prod"), outside).run()
    assert failures
    assert all("authorized IP ranges" in f for f in failures)
