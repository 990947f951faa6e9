"""File mode (SECRET_FILE): the check of what the Secrets Store CSI driver mounted, with the SDK mode's discipline:
one OK line with the fingerprint, or a FAILED line and a fix with the exit code of the failure class; never the
value, no Azure SDK, no network."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import read_secret as app
from app.read_secret.mounted import check_mounted_secret, parse_file_settings
from tests.fakes.azure import APP_DIR, run_app

VALUE = "s3cr3t-mounted-by-the-csi-driver"


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    """A directory laid out as the driver writes it: one file per object, named after it, holding the bare value."""
    directory = tmp_path / "secrets-store"
    directory.mkdir()
    (directory / "demo-secret").write_bytes(VALUE.encode())
    return directory


def run_file_mode(**env: str) -> subprocess.CompletedProcess[str]:
    result = run_app(env, never_printed=[VALUE])
    return subprocess.CompletedProcess([], result.returncode, result.stdout, result.stderr)


def test_the_mounted_value_with_the_expected_fingerprint_is_ok(mount: Path) -> None:
    path = mount / "demo-secret"
    result = run_file_mode(SECRET_FILE=str(path), EXPECTED_SECRET_FINGERPRINT=app.fingerprint(VALUE).upper())

    assert result.returncode == app.EXIT_OK, result.stderr
    assert result.stdout == f"OK file={path} fingerprint={app.fingerprint(VALUE)}\n"
    assert result.stderr == ""


def test_another_value_is_a_fingerprint_mismatch_naming_the_class_wiring(mount: Path) -> None:
    result = run_file_mode(SECRET_FILE=str(mount / "demo-secret"), EXPECTED_SECRET_FINGERPRINT="0" * 12)

    assert result.returncode == app.EXIT_FINGERPRINT
    first, fix = result.stderr.splitlines()
    assert first.startswith("read_secret: FAILED (exit 8, fingerprint mismatch): mounted file ")
    assert f"fingerprint {app.fingerprint(VALUE)}" in first
    assert "keyvaultName and objects" in fix


def test_a_file_the_class_did_not_write_is_not_found_with_the_fix(mount: Path) -> None:
    result = run_file_mode(SECRET_FILE=str(mount / "other-secret"))

    assert result.returncode == app.EXIT_NOT_FOUND
    first, fix = result.stderr.splitlines()
    assert first.startswith("read_secret: FAILED (exit 6, secret file not found): ")
    assert f"at {mount}" in fix
    assert "objectName other-secret" in fix


def test_an_unreadable_file_is_forbidden() -> None:
    """Called in-process with a reader that is refused, as the mount would refuse a user without access
    (a file mode cannot be tested as root, which reads any file)."""
    lines: list[tuple[str, bool]] = []

    def refused(path: str) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    settings = parse_file_settings({"SECRET_FILE": "/mnt/secrets-store/demo-secret"})
    code = check_mounted_secret(settings, read=refused, say=lambda line, ok: lines.append((line, ok)))

    assert code == app.EXIT_FORBIDDEN
    assert lines[0] == (
        "FAILED (exit 5, secret file not readable): /mnt/secrets-store/demo-secret: Permission denied",
        False,
    )
    assert lines[1][0].startswith("  fix: ")


def test_a_directory_is_a_configuration_error(mount: Path) -> None:
    result = run_file_mode(SECRET_FILE=str(mount))

    assert result.returncode == app.EXIT_CONFIG
    assert result.stderr.startswith("read_secret: FAILED (exit 2, secret file unusable): ")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SECRET_FILE": "secrets-store/demo-secret"}, "SECRET_FILE"),
        ({"SECRET_FILE": "/mnt/secrets-store/../etc/passwd"}, "SECRET_FILE"),
        ({"SECRET_FILE": "/mnt/secrets-store/x", "EXPECTED_SECRET_FINGERPRINT": "abc"}, "EXPECTED_SECRET_FINGERPRINT"),
        ({"SECRET_FILE": "/mnt/secrets-store/x", "VAULT_URL": "https://kv-wi.vault.azure.net/"}, "SECRET_FILE"),
    ],
)
def test_bad_file_mode_settings_exit_2_in_one_line(env: dict[str, str], named: str) -> None:
    result = run_file_mode(**env)

    assert result.returncode == app.EXIT_CONFIG
    assert result.stdout == ""
    assert result.stderr.startswith(f"read_secret: FAILED (exit 2, configuration): {named} ")
    assert len(result.stderr.splitlines()) == 1


def test_file_mode_never_loads_the_azure_sdk(mount: Path) -> None:
    probe = (
        "import sys, read_secret.cli as cli; "
        f"code = cli.main({{'SECRET_FILE': {str(mount / 'demo-secret')!r}}}); "
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] == 'azure'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=APP_DIR, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines()[-1] == "0 []"
