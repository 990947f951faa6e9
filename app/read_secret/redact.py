"""The only code that turns an error into printable text: types, HTTP statuses and parsed error fields.

Never an exception's message or a response body: either may quote a token or, after a successful read, the secret.
"""

from __future__ import annotations

import json
from typing import Any


def clip(text: str, limit: int = 300) -> str:
    """One line of a parsed error field, cut before any quoted body ("Content:") or trace ids."""
    for marker in ("Content:", "Trace ID:"):
        text = text.split(marker)[0]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_body(response: Any) -> dict[str, Any]:
    """The JSON object of an error response (status >= 400); {} otherwise. A successful answer is never parsed."""
    status = getattr(response, "status_code", None)
    if not isinstance(status, int) or status < 400:
        return {}
    try:
        body = json.loads(response.text())
    except Exception:
        return {}
    return body if isinstance(body, dict) else {}


def field(mapping: Any, name: str) -> str:
    value = mapping.get(name) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else ""


def summary(exc: BaseException, status: int | None = None, error: str = "") -> str:
    """Type, HTTP status and an OAuth error code only: an exception's message may quote a response body (e.g.
    DecodeError "Content: ..."), which may hold an access token or, after a successful read, the secret value."""
    status = status or getattr(exc, "status_code", None)
    text = type(exc).__name__ + (f" (HTTP {status})" if status else "")
    return text + (f": {clip(error, 80)}" if error else "")


def network_reason(exc: BaseException) -> str:
    """The type, plus the innermost socket/TLS error under an SDK connection error (the only text taken from it: a
    socket error never quotes HTTP data), e.g. "ServiceRequestError: gaierror: [Errno -2] Name or service not known"."""
    queue, seen, reason = [exc], set(), ""
    while queue:
        error = queue.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and type(error).__module__ in ("builtins", "socket", "ssl"):
            reason = f"{type(error).__name__}: {error}"
        linked = (error.__cause__, error.__context__, getattr(error, "inner_exception", None), *error.args)
        queue.extend(e for e in (*linked, getattr(error, "reason", None)) if isinstance(e, BaseException))
    return clip(f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__)
