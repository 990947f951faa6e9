"""The edge: environment and streams in; the fingerprint check, one OK or FAILED report and the exit code out."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from .failures import EXIT_CONFIG, EXIT_FINGERPRINT, EXIT_NOT_WIRED, EXIT_OK, EXIT_UNEXPECTED
from .fingerprint import fingerprint
from .isolation import check_denied
from .mounted import check_mounted_secret, parse_file_settings
from .redact import summary
from .retry import Failed
from .settings import ConfigError, Settings, parse_settings, setting
from .vault import read_secret
from .webhook import NotWiredError, WorkloadIdentity, load_workload_identity

PROG = "read_secret"


def main(
    env: Mapping[str, str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the program; return its exit code. Production passes nothing; tests may inject env, clock and sleep."""
    env = os.environ if env is None else env
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr

    def say(stream: TextIO, line: str) -> None:
        print(f"{PROG}: {line}" if stream is err else line, file=stream, flush=True)

    if setting(env, "SECRET_FILE"):
        return _main_file_mode(env, say=lambda line, ok: say(out if ok else err, line))
    try:
        settings = parse_settings(env)
    except ConfigError as exc:
        say(err, f"FAILED (exit {EXIT_CONFIG}, configuration): {exc}")
        return EXIT_CONFIG
    try:
        identity = load_workload_identity(env)
    except NotWiredError as exc:
        say(err, f"FAILED (exit {EXIT_NOT_WIRED}, workload identity not wired): {exc}")
        return EXIT_NOT_WIRED

    # Our own diagnosis replaces the SDK's log output (which would otherwise reach stderr via logging.lastResort).
    sdk_logger = logging.getLogger("azure")
    sdk_logger.addHandler(logging.NullHandler())
    sdk_logger.propagate = False

    def report(line: str, ok: bool) -> None:
        say(out if ok else err, line)

    def read(settings: Settings, identity: WorkloadIdentity) -> tuple[str, str]:
        return read_secret(settings, identity, sleep=sleep, clock=clock, rand=rand, log=lambda line: say(err, line))

    try:
        code = _report(settings, identity.client_id, *read(settings, identity), say=report)
        if code != EXIT_OK or settings.isolation is None:
            return code
        return check_denied(settings, settings.isolation, identity, read=read, say=report)
    except Failed as exc:
        for line in exc.lines:
            say(err, line)
        return exc.code
    except Exception as exc:  # neither a traceback nor the message: either could quote response data
        say(err, f"FAILED (exit {EXIT_UNEXPECTED}, unexpected error): {summary(exc)}")
        return EXIT_UNEXPECTED


def _main_file_mode(env: Mapping[str, str], *, say: Callable[[str, bool], None]) -> int:
    """SECRET_FILE set: check the file the Secrets Store CSI driver mounted instead of calling Key Vault."""
    try:
        if setting(env, "VAULT_URL"):
            raise ConfigError(
                "SECRET_FILE and VAULT_URL are both set (set SECRET_FILE for file mode, VAULT_URL for SDK mode)"
            )
        settings = parse_file_settings(env)
    except ConfigError as exc:
        say(f"FAILED (exit {EXIT_CONFIG}, configuration): {exc}", False)
        return EXIT_CONFIG
    return check_mounted_secret(settings, read=_read_bytes, say=say)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _report(settings: Settings, client_id: str, value: str, version: str, *, say: Callable[[str, bool], None]) -> int:
    """The result line: OK with the value's fingerprint, or FAILED if it is not the one expected. Never the value."""
    actual = fingerprint(value, settings.fingerprint_salt)
    if settings.expected_fingerprint and actual != settings.expected_fingerprint:
        say(
            f"FAILED (exit {EXIT_FINGERPRINT}, fingerprint mismatch): secret {settings.secret_name} version "
            f"{version} in {settings.vault_url} has fingerprint {actual}, "
            f"EXPECTED_SECRET_FINGERPRINT is {settings.expected_fingerprint}",
            False,
        )
        say("  fix: the vault holds another value than expected: set the secret or update the expectation", False)
        return EXIT_FINGERPRINT
    say(
        f"OK secret={settings.secret_name} version={version} vault={settings.vault_url} "
        f"client_id={client_id} fingerprint={actual}",
        True,
    )
    return EXIT_OK
