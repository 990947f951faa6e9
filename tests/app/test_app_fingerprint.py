"""The fingerprint the app reports and checks: with FINGERPRINT_SALT (as the stack sets it), salted scrypt; a
guess at a weak value then costs a scrypt computation, and a precomputed table does not help."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app import read_secret as app
from app.read_secret.mounted import check_mounted_secret, parse_file_settings
from tests.app.in_process import FakeTime, call_main, failure_line
from tests.fakes import DEMO_SECRET_VALUE, DemoWiring

SALT = "k3Jx9QmPz2LwVb7Tn4Rs"


def test_the_salted_fingerprint_is_scrypt_as_rfc_7914_computes_it() -> None:
    # RFC 7914 section 12, the third test vector (N=16384, r=8, p=1): its first 6 bytes.
    assert app.fingerprint("pleaseletmein", "SodiumChloride") == "7023bdcb3afd"
    assert app.fingerprint("pleaseletmein") == hashlib.sha256(b"pleaseletmein").hexdigest()[:12]
    assert app.fingerprint(b"pleaseletmein", "SodiumChloride") == "7023bdcb3afd", "the file's bytes alike"


def test_another_salt_gives_another_fingerprint() -> None:
    assert app.fingerprint("correct horse", SALT) != app.fingerprint("correct horse", SALT[::-1])


def test_a_salted_read_reports_and_checks_the_salted_fingerprint(in_process: DemoWiring) -> None:
    expected = app.fingerprint(DEMO_SECRET_VALUE, SALT)
    result = call_main(in_process, FakeTime(), FINGERPRINT_SALT=SALT, EXPECTED_SECRET_FINGERPRINT=expected)
    assert result.returncode == app.EXIT_OK, result.stderr
    assert result.stdout.rstrip().endswith(f"fingerprint={expected}")
    assert hashlib.sha256(DEMO_SECRET_VALUE.encode()).hexdigest()[:12] not in result.stdout


def test_the_unsalted_expectation_does_not_match_a_salted_read(in_process: DemoWiring) -> None:
    unsalted = hashlib.sha256(DEMO_SECRET_VALUE.encode()).hexdigest()[:12]
    result = call_main(in_process, FakeTime(), FINGERPRINT_SALT=SALT, EXPECTED_SECRET_FINGERPRINT=unsalted)
    assert result.returncode == app.EXIT_FINGERPRINT


@pytest.mark.parametrize("salt", ["short", "has space in it!!", "x" * 65])
def test_a_bad_salt_exits_2(in_process: DemoWiring, salt: str) -> None:
    result = call_main(in_process, FakeTime(), FINGERPRINT_SALT=salt)
    assert result.returncode == app.EXIT_CONFIG
    assert "FINGERPRINT_SALT" in failure_line(result)


def test_the_file_mode_checks_the_salted_fingerprint_of_the_files_bytes(tmp_path: Path) -> None:
    secret = tmp_path / "demo-secret"
    secret.write_bytes(b"file-value-31")
    env = {"SECRET_FILE": str(secret), "FINGERPRINT_SALT": SALT}
    said: list[tuple[str, bool]] = []
    expected = app.fingerprint("file-value-31", SALT)
    settings = parse_file_settings(env | {"EXPECTED_SECRET_FINGERPRINT": expected})
    assert check_mounted_secret(settings, read=lambda p: Path(p).read_bytes(), say=lambda *a: said.append(a)) == 0
    assert said == [(f"OK file={secret} fingerprint={expected}", True)]
