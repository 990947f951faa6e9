"""Project files as local commands and image builders see them.

Pulumi starts the program and its provider plugins (pulumi-command, docker-build) in the
same working directory; which one depends on the CLI and on `main: infra/`. Paths are
therefore given relative to that directory, computed here, so they resolve the same for
the plugins and no resource input depends on where the project is checked out.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def from_working_dir(path: Path) -> str:
    """`path` relative to the current working directory, with forward slashes."""
    return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()


def python() -> str:
    """The interpreter running this program: the project's virtualenv (`../.venv/bin/python` on Linux
    and macOS, `..\\.venv\\Scripts\\python.exe` on Windows), relative like every path here, so the command
    is the same for every deployer on one operating system; absolute when it lives outside the project.

    Only its directory is resolved: a virtualenv's python is a symlink to the base interpreter,
    which would run without the virtualenv and differ from machine to machine."""
    executable = Path(sys.executable)
    located = executable.parent.resolve() / executable.name
    if not located.is_relative_to(PROJECT_ROOT):
        return str(located)
    return os.path.relpath(located, Path.cwd())


def step(name: str) -> list[str]:
    """pulumi-command's `interpreter` for infra/steps/<name>.py: the program's own Python, no shell
    (without one, pulumi-command runs `/bin/sh -c` or, on Windows, `cmd /C`). It appends the
    Command's `create` or `update` as the step's one argument."""
    return [python(), from_working_dir(PROJECT_ROOT / "infra" / "steps" / f"{name}.py")]
