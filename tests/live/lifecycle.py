"""The pure parts of the opt-in live lifecycle test: when it runs, what it names, what it reads back.

Everything here is unit-tested offline (tests/live/test_live_helpers.py); only test_live_lifecycle.py
talks to Azure, and only when asked to.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OPT_IN = "LIVE_AZURE_TESTS"
# Set by CI to name the stack after its run, so that its cleanup removes that run's resources only.
RUN_ID = "LIVE_RUN_ID"
PROJECT = "aks-workload-identity-keyvault"
STACK_PREFIX = "live-"
REQUIRED_TOOLS = ("pulumi", "az", "kubectl", "kubelogin")
# The Job's success line (app/read_secret/cli.py): never the value, only its fingerprint.
_OK_LINE = re.compile(
    r"^OK secret=(?P<secret>\S+) version=(?P<version>\S+) vault=(?P<vault>\S+) "
    r"client_id=(?P<client_id>\S+) fingerprint=(?P<fingerprint>[0-9a-f]{12})$"
)


def skip_reason(
    env: Mapping[str, str], which: Callable[[str], str | None], az_logged_in: Callable[[], bool]
) -> str | None:
    """Why the live test does not run here, or None when it may: it costs money and takes about half an hour."""
    if env.get(OPT_IN) != "1":
        return f"live Azure test: set {OPT_IN}=1 to run it (it deploys a throwaway stack to your subscription)"
    missing = [tool for tool in REQUIRED_TOOLS if which(tool) is None]
    if missing:
        return f"live Azure test: {', '.join(missing)} not on PATH"
    if not az_logged_in():
        return "live Azure test: the Azure CLI is not logged in (az login; az account set --subscription <id>)"
    return None


def stack_name(token: str | None = None) -> str:
    """A unique, recognisable stack name: live-<8 lowercase letters/digits>."""
    return STACK_PREFIX + re.sub(r"[^a-z0-9]", "", (token or _token(8)).lower())


def stack_file_from(source: Path) -> str:
    """A stack file with the source stack's plain settings only: its encryptionsalt and secrets belong to
    another passphrase (the first deploy of a stack writes them there)."""
    config = yaml.safe_load(source.read_text()).get("config") or {}
    plain = {key: value for key, value in config.items() if not (isinstance(value, dict) and "secure" in value)}
    return yaml.safe_dump({"config": plain}, sort_keys=False)


def name_prefix(token: str | None = None) -> str:
    """A unique namePrefix (2-8 characters, starting with a letter): fresh Azure names per run."""
    return "l" + (token or _token(5))


def _token(length: int) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class OkLine:
    secret: str
    version: str
    vault: str
    client_id: str
    fingerprint: str


def parse_ok_line(log: str) -> OkLine | None:
    """The Job's OK line, if its log has exactly one; None otherwise."""
    found = [m for m in (_OK_LINE.match(line.strip()) for line in log.splitlines()) if m]
    return OkLine(**found[0].groupdict()) if len(found) == 1 else None


@dataclass(frozen=True)
class Leftovers:
    resource_groups: list[str]
    deleted_vaults: list[tuple[str, str, bool]]  # (name, location, purge protection)
    stacks: dict[str, str]  # resource name -> its stack tag

    def of_stack(self, stack: str) -> Leftovers:
        def keep(name: str) -> bool:
            return self.stacks.get(name) == stack

        kept = [v for v in self.deleted_vaults if keep(v[0])]
        return Leftovers([g for g in self.resource_groups if keep(g)], kept, self.stacks)


def find_leftovers(groups: Sequence[Mapping[str, Any]], deleted_vaults: Sequence[Mapping[str, Any]]) -> Leftovers:
    """What live runs left behind, from `az group list -o json` and `az keyvault list-deleted -o json`: only
    what carries this project's tag and a live-* stack tag (the program tags every Azure resource)."""

    def ours(tags: Any) -> bool:
        tags = tags or {}
        return tags.get("project") == PROJECT and str(tags.get("stack", "")).startswith(STACK_PREFIX)

    mine_groups = [g for g in groups if ours(g.get("tags"))]
    mine_vaults = [v for v in deleted_vaults if ours(v.get("properties", {}).get("tags"))]
    stacks = {g["name"]: g["tags"]["stack"] for g in mine_groups}
    stacks |= {v["name"]: v["properties"]["tags"]["stack"] for v in mine_vaults}
    vaults = [
        (v["name"], v["properties"]["location"], bool(v["properties"].get("purgeProtectionEnabled")))
        for v in mine_vaults
    ]
    return Leftovers(sorted(g["name"] for g in mine_groups), sorted(vaults), stacks)
