"""What the steps share: tools found on PATH, one-line errors, and a patient retry.

The steps run during `pulumi up` as `<the program's Python> steps/<step>.py <mode>` (pulumi-command's
`interpreter`), so they need no POSIX shell and run alike on Linux, macOS and Windows. Standard library
only: they must not depend on which packages the interpreter has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import NoReturn

# A missing tool exits like a shell's "command not found".
NOT_FOUND = 127


def fail(*lines: str, code: int = 1) -> NoReturn:
    for line in lines:
        print(line, file=sys.stderr)
    sys.exit(code)


def mode(*modes: str) -> str:
    """The one argument pulumi-command appends: `create` (or `update`) of the Command."""
    if len(sys.argv) != 2 or sys.argv[1] not in modes:
        fail(f"usage: {os.path.basename(sys.argv[0])} {'|'.join(modes)}", code=2)
    return sys.argv[1]


def need(tool: str, *fix: str) -> str:
    """The tool's path (on Windows `az` is az.cmd: PATHEXT counts), or exit naming it and the fix."""
    found = shutil.which(tool)
    if found is None:
        fail(*fix, code=NOT_FOUND)
    return found


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a tool and keeps what it printed."""
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@contextmanager
def kubeconfig_from_stdin() -> Generator[str]:
    """The kubeconfig pulumi-command passes on stdin, as a file kubectl can read; removed afterwards."""
    handle, path = tempfile.mkstemp(prefix="kubeconfig-")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(sys.stdin.read())
        yield path
    finally:
        os.remove(path)


def may_create(kubectl: str, kubeconfig: str, kind: str, namespace: str) -> Callable[[], tuple[bool, str]]:
    """A check for Patience.wait_for: may the kubeconfig's user create `kind` in `namespace`? The answer is
    `auth can-i --quiet`'s exit code, whatever warnings kubectl or kubelogin print."""

    def check() -> tuple[bool, str]:
        asked = run(
            kubectl, "--kubeconfig", kubeconfig, "auth", "can-i", "--quiet", "create", kind, "--namespace", namespace
        )
        return asked.returncode == 0, last_line(asked.stderr)

    return check


class Patience:
    """Retries until a deadline: TIMEOUT_SECONDS (default 600), first delay FIRST_DELAY_SECONDS (default
    5), doubling up to 40 s."""

    def __init__(self) -> None:
        self.timeout = env_int("TIMEOUT_SECONDS", 600)
        self.deadline = time.monotonic() + self.timeout
        self.delay = env_int("FIRST_DELAY_SECONDS", 5)

    def wait_for(self, what: str, hint: str, check: Callable[[], tuple[bool, str]], waiting: str = "") -> None:
        """Calls `check` (done, and why not) until it is done, or exits with `what`, the reason and `hint`.
        `waiting`: what each retry says (default "waiting: <what>")."""
        while True:
            done, reason = check()
            if done:
                return
            if time.monotonic() >= self.deadline:
                fail(f"error: after {self.timeout}s {what}{': ' + reason if reason else ''}", hint)
            because = f" ({reason})" if reason else ""
            print(f"{waiting or 'waiting: ' + what}{because}; retrying in {self.delay}s", file=sys.stderr, flush=True)
            time.sleep(self.delay)
            if self.delay < 40:
                self.delay *= 2
