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
