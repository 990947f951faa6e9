"""What the app and the Pulumi program must agree on, and the app's import discipline."""

from __future__ import annotations

import subprocess
import sys

from workload_binding import binding

from app import read_secret as app
from tests.fakes import TOKEN_EXCHANGE_AUDIENCE as FAKE_ENTRA_AUDIENCE
from tests.fakes.azure import APP_DIR
from workload_id import secret_store


def test_the_app_names_the_audience_the_program_federates() -> None:
    """The app's fix for a federation failure names the audience; the program sets it on the credential."""
    assert app.TOKEN_EXCHANGE_AUDIENCE == binding.TOKEN_EXCHANGE_AUDIENCE == FAKE_ENTRA_AUDIENCE


def test_the_app_computes_the_fingerprint_the_program_expects() -> None:
    """The program puts the salted fingerprint of the value it wrote into the Job; the app computes it of its read."""
    for value, salt in [("correct horse battery staple", "k3Jx9QmPz2LwVb7Tn4Rs"), ("ü-ñ-日本", "a" * 20)]:
        assert secret_store.fingerprint(value, salt) == app.fingerprint(value, salt)
    assert secret_store.fingerprint("x", "a" * 20) != secret_store.fingerprint("x", "b" * 20)


def test_the_azure_sdk_loads_only_when_a_read_starts() -> None:
    """A configuration or wiring error exits before the SDK's import cost (and its logging) is paid."""
    probe = "import sys, read_secret; print(sorted(m for m in sys.modules if m.split('.')[0] == 'azure'))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=APP_DIR, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
