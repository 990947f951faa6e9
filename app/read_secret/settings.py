"""The app's own settings (VAULT_URL, SECRET_NAME, ...): validated before anything else, one error naming the variable.

No Azure SDK import here: a configuration error exits before the SDK loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_RETRY_BUDGET_SECONDS = 300.0
DEFAULT_RETRY_INITIAL_DELAY_SECONDS = 2.0
DEFAULT_RETRY_MAX_DELAY_SECONDS = 30.0

# Key Vault DNS suffixes of the public and sovereign clouds; a bare name means the public cloud.
VAULT_DNS_SUFFIXES = ("vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net")

_VAULT_NAME = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{1,22}[A-Za-z0-9]")
_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{12}")
_SALT = re.compile(r"[0-9A-Za-z]{16,64}")


class ConfigError(Exception):
    """A missing or malformed app setting: the message names the variable."""


@dataclass(frozen=True)
class Settings:
    vault_url: str
    secret_name: str
    expected_fingerprint: str | None
    budget: float
    initial_delay: float
    max_delay: float
    isolation: Isolation | None = None
    fingerprint_salt: str | None = None


@dataclass(frozen=True)
class Isolation:
    """The isolation check: after its own secret, the workload's identity must be refused `denied_secret`."""

    denied_secret: str
    workload: str  # named in the report
    owners: str  # the workloads granted the denied secret, named in the report


def setting(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


_VAULT_NAME_RULES = "3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no '--'"


def parse_vault_url(raw: str) -> str:
    """Normalize VAULT_URL (a vault URI or a bare vault name) to ``https://<host>/``; raise ConfigError if invalid."""
    expected = "expected https://<vault-name>.vault.azure.net/ or a bare vault name"
    if not raw:
        raise ConfigError("VAULT_URL is not set (" + expected + ")")
    if "/" not in raw and "." not in raw and ":" not in raw:
        if not _VAULT_NAME.fullmatch(raw):
            raise ConfigError(f"VAULT_URL {shown(raw)} is not a valid vault name ({_VAULT_NAME_RULES})")
        return f"https://{raw.lower()}.{VAULT_DNS_SUFFIXES[0]}/"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError(f"VAULT_URL {shown(raw)} is malformed ({expected})") from None
    host = (parts.hostname or "").lower()
    name, _, suffix = host.partition(".")
    if (
        parts.scheme.lower() != "https"
        or parts.username is not None
        or port not in (None, 443)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or suffix not in VAULT_DNS_SUFFIXES
    ):
        raise ConfigError(f"VAULT_URL {shown(raw)} is malformed ({expected})")
    if not _VAULT_NAME.fullmatch(name):
        raise ConfigError(f"VAULT_URL {shown(raw)} has an invalid vault name ({_VAULT_NAME_RULES})")
    return f"https://{host}/"


def _number(env: Mapping[str, str], name: str, default: float, *, positive: bool) -> float:
    raw = setting(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ConfigError(f"{name} {shown(raw)} is not {kind} number of seconds")
    return value


def parse_expected_fingerprint(env: Mapping[str, str]) -> str | None:
    """EXPECTED_SECRET_FINGERPRINT, lower-cased; None when unset. Shared by the SDK and the file mode."""
    expected = setting(env, "EXPECTED_SECRET_FINGERPRINT") or None
    if expected is not None and not _FINGERPRINT.fullmatch(expected):
        raise ConfigError(
            f"EXPECTED_SECRET_FINGERPRINT {shown(expected)} is invalid "
            "(exactly 12 hex characters: the start of the value's SHA-256)"
        )
    return expected.lower() if expected else None


def parse_isolation(env: Mapping[str, str]) -> Isolation | None:
    """DENIED_SECRET_NAME set: the isolation check, with WORKLOAD_NAME and DENIED_SECRET_OWNERS for its report."""
    denied = setting(env, "DENIED_SECRET_NAME")
    if not denied:
        return None
    if not _SECRET_NAME.fullmatch(denied):
        raise ConfigError(f"DENIED_SECRET_NAME {shown(denied)} is invalid (1-127 letters, digits and hyphens)")
    workload = setting(env, "WORKLOAD_NAME")
    if not workload:
        raise ConfigError("WORKLOAD_NAME is not set (the isolation check names the workload it checks)")
    return Isolation(denied, workload, setting(env, "DENIED_SECRET_OWNERS") or "no workload")


def parse_fingerprint_salt(env: Mapping[str, str]) -> str | None:
    """FINGERPRINT_SALT: fingerprints are then salted scrypt (read_secret/fingerprint.py); None when unset."""
    salt = setting(env, "FINGERPRINT_SALT") or None
    if salt is not None and not _SALT.fullmatch(salt):
        raise ConfigError(f"FINGERPRINT_SALT {shown(salt)} is invalid (16-64 letters and digits)")
    return salt


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Validate the app's own settings; raise ConfigError naming the first bad variable."""
    vault_url = parse_vault_url(setting(env, "VAULT_URL"))
    secret_name = setting(env, "SECRET_NAME")
    if not secret_name:
        raise ConfigError("SECRET_NAME is not set")
    if not _SECRET_NAME.fullmatch(secret_name):
        raise ConfigError(f"SECRET_NAME {shown(secret_name)} is invalid (1-127 letters, digits and hyphens)")
    return Settings(
        isolation=parse_isolation(env),
        fingerprint_salt=parse_fingerprint_salt(env),
        vault_url=vault_url,
        secret_name=secret_name,
        expected_fingerprint=parse_expected_fingerprint(env),
        budget=_number(env, "RETRY_BUDGET_SECONDS", DEFAULT_RETRY_BUDGET_SECONDS, positive=False),
        initial_delay=_number(env, "RETRY_INITIAL_DELAY_SECONDS", DEFAULT_RETRY_INITIAL_DELAY_SECONDS, positive=True),
        max_delay=_number(env, "RETRY_MAX_DELAY_SECONDS", DEFAULT_RETRY_MAX_DELAY_SECONDS, positive=True),
    )
