"""The image tag is the content address of the Docker build context."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.stack.harness import ROOT
from workload_id.build_context import TAG_LENGTH, content_hash, context_files, image_tag


def make_context(root: Path, files: dict[str, str], order: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in order or list(files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[name])
    return root


FILES = {
    "Dockerfile": "FROM scratch\nCOPY app.py /\n",
    ".dockerignore": "tests/\n**/__pycache__\n*.md\n!KEEP.md\n",
    "app.py": "print('hi')\n",
    "requirements.txt": "azure-identity==1.27.0\n",
    "tests/test_app.py": "def test(): pass\n",
    "README.md": "docs\n",
    "KEEP.md": "kept by an exception rule\n",
    "pkg/__pycache__/x.pyc": "bytecode",
    "pkg/mod.py": "x = 1\n",
}


def test_context_follows_dockerignore_with_docker_semantics(tmp_path: Path) -> None:
    root = make_context(tmp_path / "ctx", FILES)
    assert context_files(root) == [".dockerignore", "Dockerfile", "KEEP.md", "app.py", "pkg/mod.py", "requirements.txt"]


def test_hash_ignores_creation_order_and_timestamps(tmp_path: Path) -> None:
    first = make_context(tmp_path / "a", FILES)
    second = make_context(tmp_path / "b", FILES, order=list(reversed(FILES)))
    for path in second.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    assert content_hash(first) == content_hash(second)


@pytest.mark.parametrize("ignored", ["tests/test_app.py", "README.md", "pkg/__pycache__/x.pyc"])
def test_changing_an_ignored_file_keeps_the_tag(tmp_path: Path, ignored: str) -> None:
    root = make_context(tmp_path / "ctx", FILES)
    before = image_tag(root)
    (root / ignored).write_text("changed")
    assert image_tag(root) == before


@pytest.mark.parametrize("changed", ["app.py", "requirements.txt", "Dockerfile", "pkg/mod.py", ".dockerignore"])
def test_changing_a_context_file_changes_the_tag(tmp_path: Path, changed: str) -> None:
    root = make_context(tmp_path / "ctx", FILES)
    before = image_tag(root)
    (root / changed).write_text((root / changed).read_text() + "\n# changed\n")
    assert image_tag(root) != before


def test_adding_renaming_or_making_a_file_executable_changes_the_tag(tmp_path: Path) -> None:
    root = make_context(tmp_path / "ctx", FILES)
    tags = {image_tag(root)}
    (root / "extra.py").write_text("")
    tags.add(image_tag(root))
    (root / "extra.py").rename(root / "other.py")
    tags.add(image_tag(root))
    (root / "other.py").chmod(0o755)
    tags.add(image_tag(root))
    assert len(tags) == 4


def test_tag_is_short_hex_and_never_latest(tmp_path: Path) -> None:
    tag = image_tag(make_context(tmp_path / "ctx", FILES))
    assert len(tag) == TAG_LENGTH
    assert int(tag, 16) >= 0


def test_missing_dockerfile_is_a_clear_error(tmp_path: Path) -> None:
    root = make_context(tmp_path / "ctx", {"app.py": ""})
    with pytest.raises(FileNotFoundError, match="no Dockerfile"):
        image_tag(root)


def test_the_real_app_context_excludes_what_the_image_does_not_need() -> None:
    files = context_files(ROOT / "app")
    assert "Dockerfile" in files
    assert not any(f.startswith("tests/") or "__pycache__" in f for f in files)
