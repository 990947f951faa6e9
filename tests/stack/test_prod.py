"""The production stack file evaluates to a hardened deployment of the same program."""

from __future__ import annotations

import pytest

from tests.conftest import Deployed
from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.harness import Evaluation, evaluate
from tests.stack.stacks import deployable_config, shipped_config


@pytest.fixture(scope="module")
def prod(deployed: Deployed) -> Evaluation:
    return deployed("prod")


def test_prod_is_wired_like_dev(prod: Evaluation) -> None:
    for check in wiring.ALL_CHECKS:
        check(prod)


def test_prod_cluster_is_paid_tier_zonal_ephemeral_and_locked_down(prod: Evaluation) -> None:
    cluster = prod.one(t.CLUSTER).inputs
    assert cluster["sku"]["tier"] in ("Standard", "Premium")
    (pool,) = cluster["agentPoolProfiles"]
    assert pool["count"] > 1
    assert pool["availabilityZones"] == ["1", "2", "3"]
    assert pool["osDiskType"] == "Ephemeral"
    assert pool["vmSize"] == "Standard_D4ds_v5"  # 150 GiB temp disk: room for a 64 GB ephemeral OS disk
    assert pool["osDiskSizeGB"] == 64
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"]
    assert cluster["kubernetesVersion"] == "1.34"
    assert cluster["disableLocalAccounts"] is True
    assert cluster["addonProfiles"]["omsagent"]["enabled"] is True
    assert prod.one(t.WORKSPACE).inputs["retentionInDays"] >= 30


def test_prod_vault_is_purge_protected_and_closed(prod: Evaluation) -> None:
    props = prod.one(t.VAULT).inputs["properties"]
    assert props["enablePurgeProtection"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["networkAcls"]["defaultAction"] == "Deny"
    assert props["networkAcls"]["bypass"] == "None"
    # Only the cluster's egress IP, for the Job: the deployer never uses the data plane.
    (rule,) = props["networkAcls"]["ipRules"]
    egress = prod.one(t.CLUSTER).outputs["networkProfile"]["loadBalancerProfile"]["effectiveOutboundIPs"][0]["id"]
    assert rule["value"] == prod.world.get(egress)["ipAddress"] + "/32"


def test_prod_secret_has_content_type_and_expiry(prod: Evaluation) -> None:
    props = prod.one(t.SECRET).inputs["properties"]
    assert props["contentType"] == "text/plain"
    assert props["attributes"]["expires"] > 0


def test_prod_registry_is_premium_and_zone_redundant(prod: Evaluation) -> None:
    registry = prod.one(t.REGISTRY).inputs
    assert registry["sku"] == {"name": "Premium"}
    assert registry["zoneRedundancy"] == "Enabled"
    assert registry["adminUserEnabled"] is False


def test_every_setting_that_differs_from_dev_is_a_declared_key() -> None:
    dev, prod = shipped_config("dev"), shipped_config("prod")
    assert set(prod) - set(dev), "prod overrides settings"
    assert "secretValue" not in prod, "no secret is committed in a stack file"


def test_prod_evaluates_identically_twice(prod: Evaluation) -> None:
    again = evaluate(deployable_config("prod"), stack="prod", fresh=True)
    assert again.inputs_by_urn() == prod.inputs_by_urn()
