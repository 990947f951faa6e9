"""Azure resource names: deterministic, within each service's length and character rules."""

from __future__ import annotations

import re

KEY_VAULT_MAX = 24  # 3-24 chars, letters/digits/hyphens, starts with a letter, no "--"
REGISTRY_MAX = 50  # 5-50 alphanumerics, globally unique
CLUSTER_MAX = 63
RESOURCE_GROUP_MAX = 90
SUFFIX_LENGTH = 6  # length of the pulumi-random suffix that makes global names unique


def slug(value: str) -> str:
    """Lowercase letters, digits and single hyphens; safe inside every Azure name used here."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", value.lower())).strip("-")


def resource_group_name(prefix: str, stack: str) -> str:
    return f"rg-{prefix}-{slug(stack)}"[:RESOURCE_GROUP_MAX].rstrip("-")


def cluster_name(prefix: str, stack: str) -> str:
    return f"aks-{prefix}-{slug(stack)}"[:CLUSTER_MAX].rstrip("-")


IDENTITY_MAX = 128


def identity_name(prefix: str, stack: str, workload: str) -> str:
    """id-<prefix>-<stack>-<workload>: each workload its own identity (the single-workload stack's is -workload)."""
    return f"id-{prefix}-{slug(stack)}"[: IDENTITY_MAX - len(workload) - 1].rstrip("-") + f"-{workload}"


def key_vault_name(prefix: str, stack: str, suffix: str) -> str:
    """kv-<prefix>-<stack>-<suffix>, the stack part shortened so the whole fits 24 chars."""
    base = f"kv-{prefix}-{slug(stack)}"[: KEY_VAULT_MAX - len(suffix) - 1].rstrip("-")
    return f"{base}-{suffix}"


def registry_name(prefix: str, stack: str, suffix: str) -> str:
    """acr<prefix><stack><suffix>, alphanumerics only, shortened to fit 50 chars."""
    stack_part = re.sub(r"[^a-z0-9]", "", stack.lower())
    return f"acr{prefix}{stack_part}"[: REGISTRY_MAX - len(suffix)] + suffix
