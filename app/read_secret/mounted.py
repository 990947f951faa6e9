"""File mode: check the secret the Secrets Store CSI driver mounted, the way the SDK mode checks what it read.

The driver (its Azure provider, signed in as the pod's workload identity) writes each object of the
SecretProviderClass as a file named after it in the volume; the pod cannot start until that mount succeeds, so
by the time this runs the identity, the federation and the role have already worked. What is left to prove is
that the file is the secret expected. No Azure SDK and no network: the value is read from disk only.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from .failures import EXIT_CONFIG, EXIT_FINGERPRINT, EXIT_FORBIDDEN, EXIT_NOT_FOUND, EXIT_OK
from .fingerprint import fingerprint
from .settings import ConfigError, parse_expected_fingerprint, parse_fingerprint_salt, setting, shown

Say = Callable[[str, bool], None]


@dataclass(frozen=True)
class FileSettings:
    path: PurePosixPath
    expected_fingerprint: str | None
    fingerprint_salt: str | None = None


def parse_file_settings(env: Mapping[str, str]) -> FileSettings:
    """SECRET_FILE (an absolute path inside the CSI volume) and EXPECTED_SECRET_FINGERPRINT; ConfigError if bad."""
    raw = setting(env, "SECRET_FILE")
    path = PurePosixPath(raw)
    if not path.is_absolute() or ".." in path.parts or path.name in ("", "."):
        raise ConfigError(f"SECRET_FILE {shown(raw)} is not an absolute path to a file in the CSI volume")
    return FileSettings(
        path=path, expected_fingerprint=parse_expected_fingerprint(env), fingerprint_salt=parse_fingerprint_salt(env)
    )


def check_mounted_secret(settings: FileSettings, read: Callable[[str], bytes], say: Say) -> int:
    """Read the mounted file and report its fingerprint (never the value); return the exit code."""
    path = str(settings.path)
    try:
        content = read(path)
    except OSError as exc:
        return _unreadable(settings.path, exc, say)
    # The driver writes the secret's value as it is stored: its UTF-8 bytes, no trailing newline.
    actual = fingerprint(content, settings.fingerprint_salt)
    if settings.expected_fingerprint and actual != settings.expected_fingerprint:
        say(
            f"FAILED (exit {EXIT_FINGERPRINT}, fingerprint mismatch): mounted file {path} has fingerprint {actual}, "
            f"EXPECTED_SECRET_FINGERPRINT is {settings.expected_fingerprint}",
            False,
        )
        say(
            "  fix: the vault holds another value than expected, or the SecretProviderClass names another vault or "
            "secret: check its keyvaultName and objects",
            False,
        )
        return EXIT_FINGERPRINT
    say(f"OK file={path} fingerprint={actual}", True)
    return EXIT_OK


def _unreadable(path: PurePosixPath, exc: OSError, say: Say) -> int:
    if exc.errno == errno.ENOENT:
        code, label = EXIT_NOT_FOUND, "secret file not found"
        fix = (
            f"mount the SecretProviderClass's CSI volume at {path.parent} and list the secret in its objects as "
            f"objectName {path.name} (the driver names each file after its objectName, or objectAlias)"
        )
    elif exc.errno in (errno.EACCES, errno.EPERM):
        code, label = EXIT_FORBIDDEN, "secret file not readable"
        fix = "the driver writes the files readable by all; check the volume's readOnly mount and the pod's user"
    else:
        code, label = EXIT_CONFIG, "secret file unusable"
        fix = f"SECRET_FILE must name a file the driver wrote in the volume at {path.parent}"
    say(f"FAILED (exit {code}, {label}): {path}: {exc.strerror or type(exc).__name__}", False)
    say(f"  fix: {fix}", False)
    return code
