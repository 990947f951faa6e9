"""`pulumi install` (and the first `pulumi up`) on a fresh clone installs everything the program imports.

The CLI's declared toolchain (Pulumi.yaml: `toolchain: pip`, `virtualenv: .venv`), step by step as
pulumi/pulumi sdk/python/toolchain/pip.go `InstallDependencies` runs it:
  1. `python -m venv <project root>/.venv`
  2. `pip install --upgrade pip setuptools wheel`
  3. "If `requirements.txt` doesn't exist, exit early", else `pip install -r requirements.txt`, both in
     the *program directory*: the language host passes `req.Info.ProgramDirectory`, which is `infra/`
     for `main: infra/` (sdk/python/cmd/pulumi-language-python/main.go, InstallDependencies).
Then every module the program imports is imported with that environment, started as the language host
starts the program: in the program directory, with it (not the project root) on sys.path.

The virtualenv is kept under build/ and reused while the requirement files are unchanged.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.stack.stacks import PROGRAM_DIR, ROOT

CACHE = ROOT / "build" / "pulumi-install"


def clean_checkout(target: Path) -> Path:
    """The files a commit of this working tree holds (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def pip(venv: Path, *args: str, cwd: Path) -> None:
    """`pip install` as pip.go runs it, less the byte-compilation (--no-compile): that writes only .pyc
    caches, changes nothing that can be imported, and is 80% of the time the install takes."""
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *args,
        ],
        cwd=cwd,
        check=True,
        timeout=1200,
    )


def requirement_files(path: Path) -> list[Path]:
    """The file pip reads and every file it includes (-r/-c, relative to the including file)."""
    if not path.is_file():
        return []
    found = [path]
    for line in path.read_text().splitlines():
        option, _, target = line.strip().partition(" ")
        if option in ("-r", "--requirement", "-c", "--constraint"):
            found += requirement_files(path.parent / target.strip())
    return found


def install_like_the_cli(project: Path) -> Path:
    """pip.go InstallDependencies, into a virtualenv reused while the files it reads are the same."""
    program_dir = project / PROGRAM_DIR.relative_to(ROOT)
    key = hashlib.sha256(sys.version.encode())
    for path in requirement_files(program_dir / "requirements.txt"):
        key.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    venv = CACHE / key.hexdigest()[:16]
    if not (venv / "installed").exists():
        shutil.rmtree(CACHE, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip(venv, "--upgrade", "pip", "setuptools", "wheel", cwd=program_dir)
        if (program_dir / "requirements.txt").exists():
            pip(venv, "-r", "requirements.txt", cwd=program_dir)
        (venv / "installed").touch()
    return venv


def program_imports(program_dir: Path) -> list[str]:
    """Every module the program's own files import (absolute imports), and the program's own modules.
    Not the steps: pulumi-command runs each as a script of its own (tests/stack/test_steps.py)."""
    modules: set[str] = set()
    for path in program_dir.rglob("*.py"):
        relative = path.relative_to(program_dir).with_suffix("")
        if relative.parts[0] == "steps":
            continue
        if relative.name != "__main__":
            modules.add(".".join(relative.parts).removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
    # The component package beside the program: the program puts it on its path (workload_id/__init__.py).
    beside = {path.name for path in (program_dir.parent / "component").iterdir() if (path / "__init__.py").is_file()}
    return sorted(m for m in modules - {"__future__"} if m.split(".")[0] not in beside)


IMPORT_ALL = textwrap.dedent(
    """
    import importlib, sys
    sys.path.insert(0, ".")  # runpy.run_path(".") in the program directory
    missing = []
    for name in sys.argv[1:]:
        try:
            importlib.import_module(name)
        except ImportError as err:
            missing.append(f"{name}: {err}")
    print("\\n".join(missing))
    """
)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clean_checkout(tmp_path_factory.mktemp("clone"))


def test_pulumi_install_on_a_fresh_clone_installs_what_the_program_imports(fresh_clone: Path) -> None:
    venv = install_like_the_cli(fresh_clone)
    program_dir = fresh_clone / PROGRAM_DIR.relative_to(ROOT)
    modules = program_imports(program_dir)
    assert {"pulumi", "pulumi_azure_native", "pulumi_kubernetes", "workload_id.cluster"} <= set(modules)
    result = subprocess.run(
        # -I: no PYTHONPATH, no user site; the project root is not on sys.path, as under the CLI.
        [str(venv / "bin" / "python"), "-I", "-c", IMPORT_ALL, *modules],
        cwd=program_dir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"not installed by `pulumi install`:\n{result.stdout}"
