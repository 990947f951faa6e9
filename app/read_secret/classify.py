"""Map the exception of one read attempt to a failure class, a short reason, a printable detail and Retry-After."""

from __future__ import annotations

import ipaddress
import math
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from .failures import (
    ENTRA_BUSY,
    ENTRA_OTHER,
    ENTRA_UNREACHABLE,
    FAILURES_BY_AADSTS,
    FIC_MISMATCH,
    FIC_MISMATCH_CODE_PREFIX,
    FIC_MISMATCH_DESCRIPTION,
    FORBIDDEN_BY_INNER,
    FORBIDDEN_OTHER,
    ISSUER_FETCH_CODES,
    ISSUER_FETCH_DESCRIPTION,
    ISSUER_FETCH_FAILED,
    NOT_A_KEY_VAULT,
    SECRET_NOT_FOUND,
    TOKEN_FILE_GONE,
    UNEXPECTED,
    VAULT_BUSY,
    VAULT_REJECTED_TOKEN,
    VAULT_UNREACHABLE,
    WRONG_TENANT,
    Failure,
)
from .redact import clip, error_body, field, network_reason, summary

_AADSTS = re.compile(r"AADSTS(\d+)")
# Key Vault's firewall names the address it saw: what the fix needs (the message's other lines are not shown).
_CLIENT_ADDRESS = re.compile(r"Client address: ([0-9A-Fa-f.:]+)")
# Key Vault statuses meaning "busy or temporarily unavailable, try again later" (Entra: 429 and any 5xx).
VAULT_BUSY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TokenError(Exception):
    """Acquiring the Entra token failed: the SDK's exception and the token endpoint's last HTTP response, if any."""

    def __init__(self, cause: BaseException, response: Any) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause
        self.response = response if response is not None else getattr(cause, "response", None)


def retry_after_seconds(response: Any) -> float | None:
    """Seconds the service asks us to wait (Retry-After in seconds or as an HTTP date, or retry-after-ms)."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name in ("retry-after-ms", "x-ms-retry-after-ms", "retry-after"):
        raw = (headers.get(name) or "").strip()
        if not raw:
            continue
        try:
            seconds = float(raw) / (1 if name == "retry-after" else 1000)
        except ValueError:
            if name != "retry-after":
                continue
            try:
                seconds = parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


@dataclass(frozen=True)
class Diagnosis:
    failure: Failure
    reason: str  # short: "AADSTS70021", "HTTP 403 ForbiddenByRbac", an exception type
    detail: str  # one line from parsed error fields or a safe summary (never exception text, never a body)
    retry_after: float | None = None  # what the service asked for (429/5xx)


def _busy_reason(status: int, code: str, retry_after: float | None) -> str:
    reason = f"HTTP {status} {code}".rstrip()
    return reason + (f", Retry-After {retry_after:g}s" if retry_after is not None else "")


def _classify_token_error(cause: BaseException, response: Any) -> Diagnosis:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    status = getattr(response, "status_code", None)
    body = error_body(response)
    error, description = field(body, "error"), field(body, "error_description")
    codes = body.get("error_codes")
    match = _AADSTS.match(description)
    code = codes[0] if isinstance(codes, list) and codes and isinstance(codes[0], int) else None
    code = code if code is not None else int(match.group(1)) if match else None
    if isinstance(status, int) and (status == 429 or status >= 500):
        retry_after = retry_after_seconds(response)
        detail = clip(description) if description else summary(cause, status, error)
        return Diagnosis(ENTRA_BUSY, _busy_reason(status, error, retry_after), detail, retry_after)
    if code is not None:
        return Diagnosis(aadsts_failure(code, description), f"AADSTS{code}", clip(description) or f"AADSTS{code}")
    if isinstance(cause, (ServiceRequestError, ServiceResponseError)):
        return Diagnosis(ENTRA_UNREACHABLE, type(cause).__name__, network_reason(cause))
    if isinstance(cause, OSError):
        return Diagnosis(TOKEN_FILE_GONE, type(cause).__name__, f"{type(cause).__name__}: {cause.strerror or '?'}")
    tenant = re.search(r"acquire tokens for tenant ([A-Za-z0-9.-]+)", str(cause)) if response is None else None
    if tenant:
        return Diagnosis(WRONG_TENANT, "tenant mismatch", f"the vault's challenge names tenant {tenant[1].rstrip('.')}")
    return Diagnosis(ENTRA_OTHER, type(cause).__name__, summary(cause, status, error))


def aadsts_failure(code: int, description: str) -> Failure:
    """The class of an AADSTS error: by its code, else by the family its code or description belongs to."""
    text = description.split(":", 1)[1].strip() if description.startswith("AADSTS") else description
    if code in FAILURES_BY_AADSTS:
        return FAILURES_BY_AADSTS[code]
    if str(code).startswith(FIC_MISMATCH_CODE_PREFIX) or text.startswith(FIC_MISMATCH_DESCRIPTION):
        return FIC_MISMATCH
    if code in ISSUER_FETCH_CODES or text.startswith(ISSUER_FETCH_DESCRIPTION):
        return ISSUER_FETCH_FAILED
    return ENTRA_OTHER


def _client_address(message: str) -> str:
    """ " from client address <ip>" when a firewall 403 names a valid IP address; "" otherwise."""
    match = _CLIENT_ADDRESS.search(message)
    try:
        return f" from client address {ipaddress.ip_address(match[1])}" if match else ""
    except ValueError:
        return ""


def classify(exc: BaseException) -> Diagnosis:
    """Map an exception from one read attempt to its failure class, a short reason and a one-line detail."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, TokenError):
        return _classify_token_error(exc.cause, exc.response)
    if isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 400:
        status = exc.status_code or 0
        error = error_body(exc.response).get("error")
        inner = field(error.get("innererror") if isinstance(error, dict) else None, "code")
        code, message = field(error, "code"), field(error, "message")
        reason = f"HTTP {status} {inner or code}".rstrip()
        seen_as = reason + _client_address(message)
        detail = clip(f"{seen_as}: {message.splitlines()[0]}" if message.strip() else seen_as)
        if status in VAULT_BUSY_STATUSES:
            retry_after = retry_after_seconds(exc.response)
            return Diagnosis(VAULT_BUSY, _busy_reason(status, inner or code, retry_after), detail, retry_after)
        failure = {
            401: VAULT_REJECTED_TOKEN,
            403: FORBIDDEN_BY_INNER.get(inner, FORBIDDEN_OTHER),
            404: SECRET_NOT_FOUND,
        }
        if status in failure:
            return Diagnosis(failure[status], reason, detail)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return Diagnosis(VAULT_UNREACHABLE, type(exc).__name__, network_reason(exc))
    if isinstance(exc, ValueError) and "challenge" in str(exc).lower():
        return Diagnosis(NOT_A_KEY_VAULT, "ValueError", "ValueError: the authentication challenge is not Key Vault's")
    return Diagnosis(UNEXPECTED, type(exc).__name__, summary(exc))
