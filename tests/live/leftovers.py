"""List, and with --delete remove, what live lifecycle runs left in the logged-in subscription.

    .venv/bin/python -m tests.live.leftovers [--delete]

Only resource groups and soft-deleted vaults tagged project=aks-workload-identity-keyvault and
stack=live-*; a vault under purge protection is listed but cannot be purged (it expires on its own).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence

from tests.live.lifecycle import PROJECT, Leftovers, find_leftovers


def az(*args: str) -> str:
    return subprocess.run(["az", *args, "--output", "json"], capture_output=True, text=True, check=True).stdout


def current() -> Leftovers:
    groups = json.loads(az("group", "list", "--tag", f"project={PROJECT}"))
    return find_leftovers(groups, json.loads(az("keyvault", "list-deleted", "--resource-type", "vault")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.live.leftovers", description="Live runs' leftovers.")
    parser.add_argument("--delete", action="store_true", help="delete the groups and purge the vaults listed")
    args = parser.parse_args(argv)
    found = current()
    for group in found.resource_groups:
        print(f"resource group {group}")
        if args.delete:
            az("group", "delete", "--name", group, "--yes")
    for name, location, protected in found.deleted_vaults:
        print(f"soft-deleted vault {name} ({location})" + (", purge protection on" if protected else ""))
        if args.delete and not protected:
            az("keyvault", "purge", "--name", name, "--location", location)
    return 0


if __name__ == "__main__":
    sys.exit(main())
