"""Project files as local commands and image builders see them.

Pulumi starts the program and its provider plugins (pulumi-command, docker-build) in the
same working directory; which one depends on the CLI and on `main: infra/`. Paths are
therefore given relative to that directory, computed here, so they resolve the same for
the plugins and no resource input depends on where the project is checked out.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def from_working_dir(path: Path) -> str:
    """`path` relative to the current working directory, with forward slashes."""
    return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()


def script(name: str) -> str:
    """A shell command that runs one of infra/scripts/."""
    return f"sh {from_working_dir(PROJECT_ROOT / 'infra' / 'scripts' / name)}"
