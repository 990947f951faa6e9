"""Command-line tools faked on a PATH that holds nothing else."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

# What the fakes (and deploy.sh) use besides the faked tools.
BASICS = [
    "sh", "cat", "mktemp", "rm", "sed", "tail", "date", "sleep", "cut", "tr", "base64", "grep", "touch",
    "cp", "mv", "mkdir",
]  # fmt: skip


def bin_dir_with_basics(path: Path) -> Path:
    """A PATH directory with only the basic POSIX tools (no az, docker, kubectl)."""
    path.mkdir()
    for tool in BASICS:
        found = shutil.which(tool)
        assert found, tool
        (path / tool).symlink_to(found)
    return path


def fake(bin_dir: Path, name: str, body: str, interpreter: str = "/bin/sh") -> None:
    """An executable `name` in bin_dir running `body` (a shell script, or with `interpreter` another)."""
    script = bin_dir / name
    script.write_text(f"#!{interpreter}\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


# The Azure CLI as scripts/recover.py and deploy.sh use it, written in Python (no shell needed): `account show`
# succeeds; `rest --method get --url <id>?api-version=<v>` answers for the ids listed in the file $ARM_IDS (ARM
# ids are case-insensitive) with $AZ_STATE (default Succeeded) as `--query properties.provisioningState -o tsv`
# prints it, else with the 404 az prints; with $AZ_LOGIN_EXPIRED set, with an expired login.
FAKE_ARM_AZ = """import os, sys
args = sys.argv[1:]
if args[:2] == ["account", "show"]:
    sys.exit(0)
if args[:1] == ["rest"]:
    if os.environ.get("AZ_LOGIN_EXPIRED"):
        print("AADSTS700082: The refresh token has expired due to inactivity.", file=sys.stderr)
        sys.exit(1)
    rid = args[args.index("--url") + 1].split("?")[0].lower()
    if rid in open(os.environ["ARM_IDS"]).read().lower().split():
        print(os.environ.get("AZ_STATE", "Succeeded"))
        sys.exit(0)
    print('Not Found({"error":{"code":"ResourceNotFound","message":"not found"}})', file=sys.stderr)
    sys.exit(3)
print("unexpected: az " + " ".join(args), file=sys.stderr)
sys.exit(2)
"""
