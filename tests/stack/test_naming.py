"""Derived Azure names stay within each service's rules for any stack name and prefix."""

from __future__ import annotations

import re

import pytest

from workload_id import naming
from workload_id.config import MAX_NAME_PREFIX_LENGTH

KEY_VAULT = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
REGISTRY = re.compile(r"^[a-zA-Z0-9]{5,50}$")
CLUSTER = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9]$")
DNS_PREFIX = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,52}[a-zA-Z0-9]$")

STACKS = ["dev", "prod", "feature.Add_Login-42", "a" * 80, "x--y", "-edge-"]
PREFIXES = ["ab", "wid", "p" * MAX_NAME_PREFIX_LENGTH]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_names_are_valid_for_any_stack(prefix: str, stack: str) -> None:
    suffix = "a1b2c3"
    assert KEY_VAULT.match(naming.key_vault_name(prefix, stack, suffix))
    assert REGISTRY.match(naming.registry_name(prefix, stack, suffix))
    assert CLUSTER.match(naming.cluster_name(prefix, stack))
    assert DNS_PREFIX.match(naming.cluster_name(prefix, stack)[:54])
    assert len(naming.resource_group_name(prefix, stack)) <= 90
    identity = naming.identity_name(prefix, stack, "a" * 20)
    assert len(identity) <= 128
    assert identity.endswith("-" + "a" * 20), "the workload part is kept whole"


def test_globally_unique_names_keep_the_random_suffix_whole() -> None:
    assert naming.key_vault_name("wid", "a" * 40, "zz9999").endswith("-zz9999")
    assert naming.registry_name("wid", "a" * 80, "zz9999").endswith("zz9999")


def test_names_are_readable_for_ordinary_stacks() -> None:
    assert naming.resource_group_name("wid", "dev") == "rg-wid-dev"
    assert naming.cluster_name("wid", "dev") == "aks-wid-dev"
    assert naming.key_vault_name("wid", "dev", "a1b2c3") == "kv-wid-dev-a1b2c3"
    assert naming.registry_name("wid", "dev", "a1b2c3") == "acrwiddeva1b2c3"
