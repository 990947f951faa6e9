"""List, and with --delete remove, what live lifecycle runs left in the logged-in subscription.

    .venv/bin/python -m tests.live.leftovers [--delete]

Only resource groups and soft-deleted vaults tagged project=aks-workload-identity-keyvault and
stack=live-*; a vault under purge protection is listed but cannot be purged (it expires on its own).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence

from tests.live.lifecycle import PROJECT, Leftovers, find_leftovers


def az(*args: str) -> str:
    found = shutil.which("az")
    if found is None:
        sys.exit("leftovers: the Azure CLI ('az') is needed to list the live runs' leftovers; install it and az login")
    return subprocess.run([found, *args, "--output", "json"], capture_output=True, text=True, check=True).stdout


def current(stack: str | None) -> Leftovers:
    groups = json.loads(az("group", "list", "--tag", f"project={PROJECT}"))
    found = find_leftovers(groups, json.loads(az("keyvault", "list-deleted", "--resource-type", "vault")))
    return found.of_stack(stack) if stack else found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.live.leftovers", description="Live runs' leftovers.")
    parser.add_argument("--delete", action="store_true", help="delete the groups, then purge the vaults listed")
    parser.add_argument("--stack", help="only this live stack's (CI: its own run's)")
    args = parser.parse_args(argv)
    failed = 0
    for group in current(args.stack).resource_groups:
        print(f"resource group {group}")
        if args.delete:
            failed += _attempt("group", "delete", "--name", group, "--yes")
    # Deleting a group soft-deletes its vault: list the vaults only now.
    for name, location, protected in current(args.stack).deleted_vaults:
        print(f"soft-deleted vault {name} ({location})" + (", purge protection on" if protected else ""))
        if args.delete and not protected:
            failed += _attempt("keyvault", "purge", "--name", name, "--location", location)
    return 1 if failed else 0


def _attempt(*args: str) -> int:
    """Run one az deletion; report a failure and go on with the others."""
    try:
        az(*args)
        return 0
    except subprocess.CalledProcessError as err:
        print(f"failed: az {' '.join(args)}: {err.stderr.strip()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
