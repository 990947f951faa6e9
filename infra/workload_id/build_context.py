"""Content address of a Docker build context.

The image tag is derived from exactly the files Docker sends to the builder (the
.dockerignore rules, evaluated by docker-py with Docker's own matching semantics), so it
is independent of file order, timestamps and the machine: no change to the context, no
new tag and no rebuild; any change, a new tag, a rebuild and a re-run of the Job.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from docker.utils.build import exclude_paths

TAG_LENGTH = 16


def _dockerignore_patterns(root: Path) -> list[str]:
    ignore_file = root / ".dockerignore"
    if not ignore_file.is_file():
        return []
    lines = (line.strip() for line in ignore_file.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files(root: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """Sorted POSIX paths, relative to root, of the regular files in the build context.

    Docker always sends the Dockerfile and .dockerignore, even when they are ignored.
    """
    included = exclude_paths(str(root), _dockerignore_patterns(root), dockerfile=dockerfile)
    always = {dockerfile, ".dockerignore"}
    paths = {p for p in included if (root / p).is_file()} | {p for p in always if (root / p).is_file()}
    return sorted(Path(p).as_posix() for p in paths)


def content_hash(root: Path, dockerfile: str = "Dockerfile") -> str:
    """SHA-256 over each context file's path, executable bit and content."""
    if not (root / dockerfile).is_file():
        raise FileNotFoundError(f"no {dockerfile} in the build context {root}")
    digest = hashlib.sha256()
    for rel in context_files(root, dockerfile):
        path = root / rel
        executable = bool(os.stat(path).st_mode & stat.S_IXUSR)
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update(b"x\0" if executable else b"-\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_tag(root: Path, dockerfile: str = "Dockerfile") -> str:
    """A short, content-derived image tag (never 'latest')."""
    return content_hash(root, dockerfile)[:TAG_LENGTH]
