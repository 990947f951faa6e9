"""What the app reports of a value: a fingerprint, never the value.

With FINGERPRINT_SALT (the stack sets one per secret) it is a salted slow hash: scrypt (RFC 7914) with
N=2^14, r=8, p=1, cut to 12 hex characters. Whoever can read a Job (its expectation) or its log (its result)
then has to pay a scrypt computation per guess of a weak configured value, and no table computed beforehand
helps. Without a salt (a local run) it is the first 12 hex characters of the value's SHA-256.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
LENGTH = 12  # hex characters


@lru_cache(maxsize=256)
def fingerprint(value: str | bytes, salt: str | None = None) -> str:
    """Of a value, or of its UTF-8 bytes as the CSI driver writes them to the file."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if salt is None:
        return hashlib.sha256(data).hexdigest()[:LENGTH]
    return hashlib.scrypt(data, salt=salt.encode("utf-8"), n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=LENGTH // 2).hex()
