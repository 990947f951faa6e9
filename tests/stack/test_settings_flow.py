"""Every setting is exercised away from its default, and the secret's value is a secret on every path.

A setting only ever tested at its default is untested: for each declared key, a non-default value
must change what the stack declares (and a text value must appear in it). The secret's value, and the
fingerprint the Job checks, must never appear outside a Pulumi secret, whether configured or
generated, with or without an expiry date, in any resource's inputs or outputs or in an output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.harness import Evaluation, evaluate, is_secret
from tests.stack.stacks import DECLARED, THREE_WORKLOADS

NON_DEFAULT: dict[str, dict[str, Any]] = {
    "location": {"location": "westeurope"},
    "namePrefix": {"namePrefix": "team"},
    "kubernetesVersion": {"kubernetesVersion": "1.33"},
    "nodeVmSize": {"nodeVmSize": "Standard_D4ds_v5"},
    "nodeCount": {"nodeCount": 3},
    "nodeOsDiskType": {"nodeOsDiskType": "Ephemeral", "nodeOsDiskSizeGb": 64},
    "nodeOsDiskSizeGb": {"nodeOsDiskSizeGb": 64},
    "availabilityZones": {"availabilityZones": ["1", "2", "3"]},
    "aksTier": {"aksTier": "Standard"},
    "authorizedIpRanges": {"authorizedIpRanges": ["52.140.10.0/24"]},
    "disableLocalAccounts": {"disableLocalAccounts": False},
    "kubeloginMode": {"kubeloginMode": "spn"},
    "deployerObjectIds": {
        "deployerObjectIds": ["d3b07384-d9a0-4c9b-8f1e-0a1b2c3d4e5f", "0f0e0d0c-0b0a-0908-0706-050403020100"]
    },
    "monitoring": {"monitoring": True},
    "acrSku": {"acrSku": "Premium"},
    "keyVaultPurgeProtection": {"keyVaultPurgeProtection": True},
    "keyVaultSoftDeleteDays": {"keyVaultSoftDeleteDays": 30},
    "keyVaultNetworkDefaultAction": {"keyVaultNetworkDefaultAction": "Deny"},
    "keyVaultAllowedIpRanges": {"keyVaultAllowedIpRanges": ["52.140.10.0/24"]},
    "secrets": {"secrets": THREE_WORKLOADS["secrets"]},
    "workloads": THREE_WORKLOADS,
    "secretName": {"secretName": "team-secret"},
    "secretContentType": {"secretContentType": "text/plain"},
    "secretExpiryDays": {"secretExpiryDays": 30},
    "secretRotationDays": {"secretRotationDays": 20},
    "secretDelivery": {"secretDelivery": "csi"},
    "csiRotationPollInterval": {"csiRotationPollInterval": "5m"},
    "namespace": {"namespace": "team-a"},
    "serviceAccountName": {"serviceAccountName": "vault-reader-2"},
    "imageBuilder": {"imageBuilder": "docker"},
    "appRetryBudgetSeconds": {"appRetryBudgetSeconds": 900},
}


# Settings whose non-default case needs more than config (an existing resource in the world): tested there.
TESTED_ELSEWHERE = {
    "existingCluster": "tests/stack/test_existing_cluster.py",
    "grantKubeletAcrPull": "tests/stack/test_existing_cluster.py",
    "existingKeyVault": "tests/stack/test_existing_resources.py",
    "existingRegistry": "tests/stack/test_existing_resources.py",
}


def test_every_declared_setting_has_a_non_default_case() -> None:
    assert set(NON_DEFAULT) | set(TESTED_ELSEWHERE) == set(DECLARED)
    assert not set(NON_DEFAULT) & set(TESTED_ELSEWHERE)
    for key, values in NON_DEFAULT.items():
        assert values[key] != DECLARED[key]["default"], key


@pytest.mark.parametrize("key", list(NON_DEFAULT))
def test_a_non_default_setting_changes_what_the_stack_declares(dev: Evaluation, key: str) -> None:
    ev = evaluate(NON_DEFAULT[key])
    assert ev.inputs_by_urn() != dev.inputs_by_urn(), f"{key} changes nothing"
    declared = json.dumps([r.inputs for r in ev.resources])
    value = NON_DEFAULT[key][key]
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str):
            assert text in declared, f"{key}={text} reaches no resource"


def plain_occurrences(value: Any, needles: set[str], path: str = "") -> list[str]:
    """Where a needle appears outside a Pulumi secret."""
    if is_secret(value):
        return []
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in plain_occurrences(v, needles, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in plain_occurrences(v, needles, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and any(n in value for n in needles) else []


@pytest.mark.parametrize("expiry_days", [0, 90])
@pytest.mark.parametrize("source", ["generated", "configured"])
def test_the_secret_value_and_its_fingerprint_stay_secret_on_every_path(source: str, expiry_days: int) -> None:
    configured = "configured-value-7f3a9c"
    ev = evaluate(
        {"secretExpiryDays": expiry_days}, secrets={"secretValue": configured} if source == "configured" else {}
    )
    value = configured if source == "configured" else ev.one(t.RANDOM_PASSWORD).outputs["result"]
    fingerprint = wiring.salted_fingerprint(ev.one(t.JOB, t.SDK_JOB), value)
    # Not vacuous: the value reaches the vault and the fingerprint reaches the Job.
    assert ev.one(t.SECRET).inputs["properties"]["value"] == value
    assert fingerprint in json.dumps(ev.one(t.JOB, t.SDK_JOB).inputs)
    leaks = [
        f"{r.name} {where}{path}"
        for r in ev.resources
        for where, data in (("inputs", r.raw_inputs), ("outputs", r.raw_outputs))
        for path in plain_occurrences(data, {value, fingerprint})
    ]
    assert leaks == []
    for key, exported in ev.exports.items():
        if key not in ev.secret_exports:
            assert not plain_occurrences(exported, {value, fingerprint}), key
    if expiry_days:
        assert is_secret(ev.one(t.TIME_STATIC).raw_inputs["triggers"]), "renewal is keyed on the fingerprint"
