"""Read one Azure Key Vault secret through Microsoft Entra Workload ID and report it without revealing it.

Runs as a Kubernetes Job on AKS. The workload identity webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID,
AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST; the Job sets VAULT_URL and SECRET_NAME (see README.md).
On success it prints one line naming the secret, its version, the vault, the client id and the value's
fingerprint. On failure it names the broken link and its fix and exits with a code per failure class.
Transient errors (a new federated credential or role assignment propagating, a busy service) are retried within a
budget; the app owns all retries (the SDK's are off). Neither the secret value nor a token is ever printed, and
neither is SDK exception text (it may quote a response body): only types, HTTP statuses and parsed error fields.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

PROG = "read_secret"

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CONFIG = 2
EXIT_NOT_WIRED = 3
EXIT_FEDERATION = 4
EXIT_FORBIDDEN = 5
EXIT_NOT_FOUND = 6
EXIT_UNREACHABLE = 7
EXIT_FINGERPRINT = 8
EXIT_AUTH = 9
EXIT_BUSY = 10

DEFAULT_RETRY_BUDGET_SECONDS = 300.0
DEFAULT_RETRY_INITIAL_DELAY_SECONDS = 2.0
DEFAULT_RETRY_MAX_DELAY_SECONDS = 30.0

# Key Vault DNS suffixes of the public and sovereign clouds; a bare name means the public cloud.
VAULT_DNS_SUFFIXES = ("vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net")
SECRETS_USER_ROLE = "Key Vault Secrets User"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

_VAULT_NAME = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{1,22}[A-Za-z0-9]")
_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{12}")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_TENANT = re.compile(r"[A-Za-z0-9.-]+")
_AADSTS = re.compile(r"AADSTS(\d+)")

# SDK settings: no SDK retries at all (it would honour Retry-After and retry 10 times, past any budget); each attempt
# is a single request per hop with transport timeouts from attempt_timeouts(), then our own classification.
CONNECTION_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 30.0
MIN_TIMEOUT_SECONDS = 5.0
_SDK_OPTIONS: dict[str, Any] = {
    "retry_total": 0,
    "connection_timeout": CONNECTION_TIMEOUT_SECONDS,
    "read_timeout": READ_TIMEOUT_SECONDS,
}
# Key Vault statuses meaning "busy or temporarily unavailable, try again later" (Entra: 429 and any 5xx).
VAULT_BUSY_STATUSES = frozenset({429, 500, 502, 503, 504})


def fingerprint(value: str) -> str:
    """First 12 lowercase hex characters of the SHA-256 of the UTF-8 encoded value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------------------------
# Settings


class ConfigError(Exception):
    """A missing or malformed app setting: the message names the variable."""


class NotWiredError(Exception):
    """The workload identity webhook's environment or token file is missing."""


@dataclass(frozen=True)
class Settings:
    vault_url: str
    secret_name: str
    expected_fingerprint: str | None
    budget: float
    initial_delay: float
    max_delay: float


@dataclass(frozen=True)
class WorkloadIdentity:
    client_id: str
    tenant_id: str
    token_file: str
    authority_host: str


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


_VAULT_NAME_RULES = "3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no '--'"


def parse_vault_url(raw: str) -> str:
    """Normalize VAULT_URL (a vault URI or a bare vault name) to ``https://<host>/``; raise ConfigError if invalid."""
    expected = "expected https://<vault-name>.vault.azure.net/ or a bare vault name"
    if not raw:
        raise ConfigError("VAULT_URL is not set (" + expected + ")")
    if "/" not in raw and "." not in raw and ":" not in raw:
        if not _VAULT_NAME.fullmatch(raw):
            raise ConfigError(f"VAULT_URL {_shown(raw)} is not a valid vault name ({_VAULT_NAME_RULES})")
        return f"https://{raw.lower()}.{VAULT_DNS_SUFFIXES[0]}/"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError(f"VAULT_URL {_shown(raw)} is malformed ({expected})") from None
    host = (parts.hostname or "").lower()
    name, _, suffix = host.partition(".")
    if (
        parts.scheme.lower() != "https"
        or parts.username is not None
        or port not in (None, 443)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or suffix not in VAULT_DNS_SUFFIXES
    ):
        raise ConfigError(f"VAULT_URL {_shown(raw)} is malformed ({expected})")
    if not _VAULT_NAME.fullmatch(name):
        raise ConfigError(f"VAULT_URL {_shown(raw)} has an invalid vault name ({_VAULT_NAME_RULES})")
    return f"https://{host}/"


def _number(env: Mapping[str, str], name: str, default: float, *, positive: bool) -> float:
    raw = _get(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ConfigError(f"{name} {_shown(raw)} is not {kind} number of seconds")
    return value


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Validate the app's own settings; raise ConfigError naming the first bad variable."""
    vault_url = parse_vault_url(_get(env, "VAULT_URL"))
    secret_name = _get(env, "SECRET_NAME")
    if not secret_name:
        raise ConfigError("SECRET_NAME is not set")
    if not _SECRET_NAME.fullmatch(secret_name):
        raise ConfigError(f"SECRET_NAME {_shown(secret_name)} is invalid (1-127 letters, digits and hyphens)")
    expected = _get(env, "EXPECTED_SECRET_FINGERPRINT") or None
    if expected is not None and not _FINGERPRINT.fullmatch(expected):
        raise ConfigError(
            f"EXPECTED_SECRET_FINGERPRINT {_shown(expected)} is invalid "
            "(exactly 12 hex characters: the start of the value's SHA-256)"
        )
    return Settings(
        vault_url=vault_url,
        secret_name=secret_name,
        expected_fingerprint=expected.lower() if expected else None,
        budget=_number(env, "RETRY_BUDGET_SECONDS", DEFAULT_RETRY_BUDGET_SECONDS, positive=False),
        initial_delay=_number(env, "RETRY_INITIAL_DELAY_SECONDS", DEFAULT_RETRY_INITIAL_DELAY_SECONDS, positive=True),
        max_delay=_number(env, "RETRY_MAX_DELAY_SECONDS", DEFAULT_RETRY_MAX_DELAY_SECONDS, positive=True),
    )


_WEBHOOK_VARS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")
_LABEL_FIX = (
    'set the label azure.workload.identity/use: "true" on the pod template (not only on the Job), '
    "make sure the workload identity webhook runs on the cluster (AKS: --enable-workload-identity "
    "--enable-oidc-issuer), then recreate the pod"
)
_ANNOTATION_FIX = (
    "annotate the pod's ServiceAccount with azure.workload.identity/client-id: <client id of the managed identity> "
    "and recreate the pod"
)


def load_workload_identity(env: Mapping[str, str]) -> WorkloadIdentity:
    """Read what the workload identity webhook injects; raise NotWiredError saying which part is missing."""
    missing = [name for name in _WEBHOOK_VARS if not _get(env, name)]
    if missing == ["AZURE_CLIENT_ID"]:
        raise NotWiredError(
            "AZURE_CLIENT_ID is not set although the webhook injected the rest: the ServiceAccount has no "
            f"azure.workload.identity/client-id annotation. Fix: {_ANNOTATION_FIX}"
        )
    if missing:
        raise NotWiredError(
            f"{', '.join(missing)} not set: the workload identity webhook did not mutate this pod. Fix: {_LABEL_FIX}"
        )
    client_id, tenant_id = _get(env, "AZURE_CLIENT_ID"), _get(env, "AZURE_TENANT_ID")
    token_file, authority = _get(env, "AZURE_FEDERATED_TOKEN_FILE"), _get(env, "AZURE_AUTHORITY_HOST")
    if not _GUID.fullmatch(client_id):
        raise NotWiredError(f"AZURE_CLIENT_ID {_shown(client_id)} is not a client id (GUID). Fix: {_ANNOTATION_FIX}")
    if not _TENANT.fullmatch(tenant_id):
        raise NotWiredError(f"AZURE_TENANT_ID {_shown(tenant_id)} is not a tenant id. Fix: {_LABEL_FIX}")
    if not authority.lower().startswith("https://"):
        raise NotWiredError(f"AZURE_AUTHORITY_HOST {_shown(authority)} is not an https URL. Fix: {_LABEL_FIX}")
    if not os.path.isfile(token_file):
        raise NotWiredError(
            f"AZURE_FEDERATED_TOKEN_FILE {token_file} does not exist: the projected service account token "
            f"(volume azure-identity-token) is not mounted. Fix: {_LABEL_FIX}"
        )
    try:
        with open(token_file, encoding="utf-8") as handle:
            handle.read(1)
    except OSError as exc:
        raise NotWiredError(
            f"AZURE_FEDERATED_TOKEN_FILE {token_file} is not readable ({exc.strerror}). "
            "Fix: run the pod with a securityContext whose user or fsGroup can read the projected token"
        ) from None
    return WorkloadIdentity(client_id, tenant_id, token_file, authority)


def assertion_claims(token_file: str) -> dict[str, Any]:
    """Unverified iss/sub/aud/exp of the service account token (diagnostics only; the token is never printed)."""
    try:
        with open(token_file, encoding="utf-8") as handle:
            payload = handle.read().strip().split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (OSError, IndexError, ValueError):
        return {}
    if not isinstance(claims, dict):
        return {}
    aud, exp = claims.get("aud"), claims.get("exp")
    return {
        "iss": claims.get("iss", "?"),
        "sub": claims.get("sub", "?"),
        "aud": ",".join(map(str, aud)) if isinstance(aud, list) else aud or "?",
        "exp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)) if isinstance(exp, int) else "?",
    }


# ---------------------------------------------------------------------------------------------------------------
# Failure classification (table driven)


@dataclass(frozen=True)
class Failure:
    """One failure class: exit code, for how many seconds of the budget it is retried, and what to tell the user."""

    code: int
    label: str
    retry_for: float  # NO_RETRY: report at once; RETRY_ALWAYS: retry for the whole budget; else at most that long
    problem: str
    fix: str


NO_RETRY = 0.0
RETRY_ALWAYS = math.inf
# A just-created managed identity can be unknown to the token endpoint for a short while (replication).
UNKNOWN_CLIENT_RETRY_SECONDS = 60.0

_FIC_FIX = (
    "on managed identity {client_id}, the federated identity credential must have issuer = the cluster's OIDC "
    "issuer URL (az aks show --query oidcIssuerProfile.issuerUrl; this pod presents {iss}), subject = "
    "system:serviceaccount:<namespace>:<serviceaccount> of this pod (presents {sub}) and audience "
    f"{TOKEN_EXCHANGE_AUDIENCE}; a new credential needs a few minutes to propagate"
)


def _fic(problem: str) -> Failure:
    return Failure(EXIT_FEDERATION, "federated credential mismatch", RETRY_ALWAYS, problem, _FIC_FIX)


_RBAC_FIX = (
    f"assign the role '{SECRETS_USER_ROLE}' to the managed identity (client id {{client_id}}) at the scope of vault "
    "{vault_name} (or the secret); a new assignment needs a few minutes to apply"
)
_BUSY_FIX = (
    "retry the Job later or give it a larger RETRY_BUDGET_SECONDS; if it persists, check Azure Service Health for "
    "{service} and whether other clients flood it with requests"
)

FAILURES_BY_AADSTS: dict[int, Failure] = {
    70021: _fic("Entra ID has no federated identity credential on client id {client_id} matching this pod's token"),
    700211: _fic("no federated identity credential on client id {client_id} has this pod's issuer {iss}"),
    700212: _fic("no federated identity credential on client id {client_id} has this pod's audience {aud}"),
    700213: _fic("no federated identity credential on client id {client_id} has this pod's subject {sub}"),
    7002138: _fic("the federated credential subject on client id {client_id} differs from {sub} only in case"),
    700016: Failure(
        EXIT_AUTH,
        "unknown client id",
        UNKNOWN_CLIENT_RETRY_SECONDS,
        "Entra ID tenant {tenant_id} has no application/managed identity with client id {client_id}",
        "set the ServiceAccount annotation azure.workload.identity/client-id to the managed identity's client id "
        "(az identity show --query clientId) and check AZURE_TENANT_ID/azure.workload.identity/tenant-id",
    ),
    700024: Failure(
        EXIT_AUTH,
        "service account token expired",
        NO_RETRY,
        "the service account token in {token_file} is outside its validity time (exp {exp})",
        "the kubelet refreshes the projected token: do not copy or cache it, check the node clock, recreate the pod",
    ),
    700027: Failure(
        EXIT_AUTH,
        "token signature rejected",
        NO_RETRY,
        "Entra ID could not verify the service account token's signature with the keys published by {iss}",
        "make sure the federated credential's issuer is this cluster's OIDC issuer URL and that it serves the "
        "current signing keys (after a key rotation wait for the issuer to publish them)",
    ),
    90002: Failure(
        EXIT_AUTH,
        "tenant not found",
        NO_RETRY,
        "Entra ID has no tenant {tenant_id} at {authority}",
        "set azure.workload.identity/tenant-id (or the webhook's tenant) to the tenant of the managed identity",
    ),
}

ENTRA_OTHER = Failure(
    EXIT_AUTH,
    "authentication failed",
    NO_RETRY,
    "Entra ID refused a token for client id {client_id} in tenant {tenant_id}",
    "read the Entra error below and check the managed identity, its federated credential and AZURE_TENANT_ID",
)
ENTRA_UNREACHABLE = Failure(
    EXIT_AUTH,
    "Entra ID unreachable",
    NO_RETRY,
    "the token endpoint at {authority} could not be reached from the pod",
    "allow egress from the cluster to {authority} (443/tcp; network policies, firewall, proxy settings)",
)
ENTRA_BUSY = Failure(
    EXIT_BUSY,
    "service busy/unavailable",
    RETRY_ALWAYS,
    "the Entra ID token endpoint at {authority} answered 429/5xx (throttled or temporarily unavailable)",
    _BUSY_FIX.replace("{service}", "Microsoft Entra ID"),
)
WRONG_TENANT = Failure(
    EXIT_AUTH,
    "vault in another tenant",
    NO_RETRY,
    "vault {vault_name} asks for a token from another tenant than AZURE_TENANT_ID={tenant_id}",
    "use a managed identity and vault in the same tenant (or fix azure.workload.identity/tenant-id)",
)
ACCESS_POLICY_DENIED = Failure(
    EXIT_FORBIDDEN,
    "forbidden",
    NO_RETRY,
    "vault {vault_name} is not in Azure RBAC mode (it uses access policies) and grants client id {client_id} "
    "no secret get permission",
    "set enableRbacAuthorization=true on the vault and " + _RBAC_FIX + " (or give the identity an access policy "
    "with secret get permission)",
)
FORBIDDEN_BY_INNER: dict[str, Failure] = {
    "ForbiddenByRbac": Failure(
        EXIT_FORBIDDEN,
        "forbidden",
        RETRY_ALWAYS,
        f"the identity (client id {{client_id}}) lacks '{SECRETS_USER_ROLE}' on vault {{vault_name}}",
        _RBAC_FIX,
    ),
    "AccessDenied": ACCESS_POLICY_DENIED,
    "ForbiddenByPolicy": ACCESS_POLICY_DENIED,
    "ForbiddenByFirewall": Failure(
        EXIT_FORBIDDEN,
        "forbidden",
        NO_RETRY,
        "the firewall of vault {vault_name} rejects requests from this pod's network (client id {client_id})",
        "allow the cluster's egress IP or subnet in the vault's network rules, or reach it over a private endpoint",
    ),
    "ForbiddenByConnection": Failure(
        EXIT_FORBIDDEN,
        "public network access disabled",
        NO_RETRY,
        "vault {vault_name} accepts no requests from public networks (publicNetworkAccess is Disabled) and this "
        "pod's request did not come through an approved private endpoint",
        "reach the vault over a private endpoint: an approved private endpoint connection in (or peered with) the "
        "cluster's VNet and the private DNS zone privatelink.vaultcore.azure.net linked to that VNet, so "
        "{vault_name}.vault.azure.net resolves to the private IP; or set publicNetworkAccess=Enabled and allow the "
        "cluster's egress in the vault's network rules",
    ),
    "SecretDisabled": Failure(
        EXIT_NOT_FOUND,
        "secret disabled",
        NO_RETRY,
        "secret {secret} in vault {vault_name} is disabled",
        "enable the secret (or its current version) in the vault",
    ),
}
FORBIDDEN_OTHER = Failure(
    EXIT_FORBIDDEN,
    "forbidden",
    RETRY_ALWAYS,
    f"vault {{vault_name}} refuses client id {{client_id}}: it lacks '{SECRETS_USER_ROLE}', or the vault is not in "
    "RBAC mode, or its firewall blocks this pod",
    _RBAC_FIX + "; check enableRbacAuthorization and the vault's network rules",
)
VAULT_BUSY = Failure(
    EXIT_BUSY,
    "service busy/unavailable",
    RETRY_ALWAYS,
    "vault {vault_name} answered 429/5xx (throttled or temporarily unavailable)",
    _BUSY_FIX.replace("{service}", "Key Vault in the vault's region"),
)
SECRET_NOT_FOUND = Failure(
    EXIT_NOT_FOUND,
    "secret not found",
    NO_RETRY,
    "vault {vault_name} has no (enabled) secret named {secret}",
    "create the secret or fix SECRET_NAME (names are 1-127 letters, digits and hyphens)",
)
VAULT_REJECTED_TOKEN = Failure(
    EXIT_AUTH,
    "vault rejected the token",
    NO_RETRY,
    "vault {vault_name} rejected the Entra token of client id {client_id}",
    "check that the vault's tenant is AZURE_TENANT_ID={tenant_id} and read the vault's error below",
)
VAULT_UNREACHABLE = Failure(
    EXIT_UNREACHABLE,
    "vault unreachable",
    NO_RETRY,
    "{vault} could not be reached (the name does not resolve, the connection fails, or it is not a Key Vault)",
    "check VAULT_URL, that the vault exists, DNS/private endpoint resolution and egress to it on 443/tcp",
)
TOKEN_FILE_GONE = Failure(
    EXIT_NOT_WIRED,
    "workload identity not wired",
    NO_RETRY,
    "the service account token {token_file} could not be read",
    _LABEL_FIX,
)
UNEXPECTED = Failure(
    EXIT_UNEXPECTED,
    "unexpected error",
    NO_RETRY,
    "an unexpected error occurred while reading {secret} from {vault}",
    "retry the Job; if it persists, check the vault and this app's SDK versions (details are withheld: an "
    "unexpected error's text may quote the response, which could contain the secret)",
)


class TokenError(Exception):
    """Acquiring the Entra token failed: the SDK's exception and the token endpoint's last HTTP response, if any."""

    def __init__(self, cause: BaseException, response: Any) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause
        self.response = response if response is not None else getattr(cause, "response", None)


class _TokenStage:
    """Token credential delegating to WorkloadIdentityCredential: adds this attempt's transport options, records the
    token endpoint's response (the SDK's exception may not carry it) and tags failures as TokenError."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.request_options: dict[str, Any] = {}
        self._response: Any = None

    def _record(self, pipeline_response: Any) -> None:
        self._response = pipeline_response.http_response

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> Any:
        self._response = None
        options = {**kwargs, **self.request_options, "raw_response_hook": self._record}
        try:
            return self._inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **options)
        except Exception as exc:
            raise TokenError(exc, self._response) from exc


def attempt_timeouts(remaining: float) -> dict[str, Any]:
    """Transport timeouts of one attempt: the defaults, cut to the budget left but never below a small floor."""
    bound = max(MIN_TIMEOUT_SECONDS, remaining)
    return {
        "connection_timeout": min(CONNECTION_TIMEOUT_SECONDS, bound),
        "read_timeout": min(READ_TIMEOUT_SECONDS, bound),
    }


# ---------------------------------------------------------------------------------------------------------------
# What may be printed about an error: types, HTTP statuses and parsed error fields, never exception text.


def _clip(text: str, limit: int = 300) -> str:
    """One line of a parsed error field, cut before any quoted body ("Content:") or trace ids."""
    for marker in ("Content:", "Trace ID:"):
        text = text.split(marker)[0]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_body(response: Any) -> dict[str, Any]:
    """The JSON object of an error response (status >= 400); {} otherwise. A successful answer is never parsed."""
    status = getattr(response, "status_code", None)
    if not isinstance(status, int) or status < 400:
        return {}
    try:
        body = json.loads(response.text())
    except Exception:
        return {}
    return body if isinstance(body, dict) else {}


def _field(mapping: Any, name: str) -> str:
    value = mapping.get(name) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else ""


def _retry_after(response: Any) -> float | None:
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


def _summary(exc: BaseException, status: int | None = None, error: str = "") -> str:
    """Type, HTTP status and an OAuth error code only: an exception's message may quote a response body (e.g.
    DecodeError "Content: ..."), which may hold an access token or, after a successful read, the secret value."""
    status = status or getattr(exc, "status_code", None)
    text = type(exc).__name__ + (f" (HTTP {status})" if status else "")
    return text + (f": {_clip(error, 80)}" if error else "")


def _network_reason(exc: BaseException) -> str:
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
    return _clip(f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__)


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
    body = _error_body(response)
    error, description = _field(body, "error"), _field(body, "error_description")
    codes = body.get("error_codes")
    match = _AADSTS.match(description)
    code = codes[0] if isinstance(codes, list) and codes and isinstance(codes[0], int) else None
    code = code if code is not None else int(match.group(1)) if match else None
    if isinstance(status, int) and (status == 429 or status >= 500):
        retry_after = _retry_after(response)
        detail = _clip(description) if description else _summary(cause, status, error)
        return Diagnosis(ENTRA_BUSY, _busy_reason(status, error, retry_after), detail, retry_after)
    if code is not None:
        return Diagnosis(
            FAILURES_BY_AADSTS.get(code, ENTRA_OTHER), f"AADSTS{code}", _clip(description) or f"AADSTS{code}"
        )
    if isinstance(cause, (ServiceRequestError, ServiceResponseError)):
        return Diagnosis(ENTRA_UNREACHABLE, type(cause).__name__, _network_reason(cause))
    if isinstance(cause, OSError):
        return Diagnosis(TOKEN_FILE_GONE, type(cause).__name__, f"{type(cause).__name__}: {cause.strerror or '?'}")
    tenant = re.search(r"acquire tokens for tenant ([A-Za-z0-9.-]+)", str(cause)) if response is None else None
    if tenant:
        return Diagnosis(WRONG_TENANT, "tenant mismatch", f"the vault's challenge names tenant {tenant[1].rstrip('.')}")
    return Diagnosis(ENTRA_OTHER, type(cause).__name__, _summary(cause, status, error))


def classify(exc: BaseException) -> Diagnosis:
    """Map an exception from one read attempt to its failure class, a short reason and a one-line detail."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, TokenError):
        return _classify_token_error(exc.cause, exc.response)
    if isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 400:
        status = exc.status_code or 0
        error = _error_body(exc.response).get("error")
        inner = _field(error.get("innererror") if isinstance(error, dict) else None, "code")
        code, message = _field(error, "code"), _field(error, "message")
        reason = f"HTTP {status} {inner or code}".rstrip()
        detail = _clip(f"{reason}: {message.splitlines()[0]}" if message.strip() else reason)
        if status in VAULT_BUSY_STATUSES:
            retry_after = _retry_after(exc.response)
            return Diagnosis(VAULT_BUSY, _busy_reason(status, inner or code, retry_after), detail, retry_after)
        failure = {
            401: VAULT_REJECTED_TOKEN,
            403: FORBIDDEN_BY_INNER.get(inner, FORBIDDEN_OTHER),
            404: SECRET_NOT_FOUND,
        }
        if status in failure:
            return Diagnosis(failure[status], reason, detail)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return Diagnosis(VAULT_UNREACHABLE, type(exc).__name__, _network_reason(exc))
    if isinstance(exc, ValueError) and "challenge" in str(exc).lower():
        return Diagnosis(VAULT_UNREACHABLE, "ValueError", "ValueError: the authentication challenge is not Key Vault's")
    return Diagnosis(UNEXPECTED, type(exc).__name__, _summary(exc))


# ---------------------------------------------------------------------------------------------------------------
# Running


class Failed(Exception):
    def __init__(self, code: int, lines: list[str]) -> None:
        super().__init__(lines[0])
        self.code = code
        self.lines = lines


def _fail(failure: Failure, detail: str, context: Mapping[str, Any], *, prefix: str = "") -> NoReturn:
    lines = [
        f"FAILED (exit {failure.code}, {failure.label}): {prefix}{failure.problem.format(**context)}",
        f"  fix: {failure.fix.format(**context)}",
    ]
    if detail:
        lines.append(f"  detail: {detail}")
    raise Failed(failure.code, lines)


def backoff_delay(attempt: int, settings: Settings, rand: Callable[[], float]) -> float:
    """Exponential backoff with jitter: between half and all of min(max_delay, initial_delay * 2^(attempt-1))."""
    ceiling = min(settings.max_delay, settings.initial_delay * 2 ** min(attempt - 1, 30))
    return ceiling * (0.5 + rand() / 2)


def read_secret(
    settings: Settings,
    identity: WorkloadIdentity,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    rand: Callable[[], float],
    log: Callable[[str], None],
) -> tuple[str, str]:
    """Fetch the secret, retrying transient errors within the budget; return (value, version) or raise Failed.

    Every wait ends by the end of the budget (or of the failure's own retry window), and each attempt's transport
    timeouts are cut to the time left (never below MIN_TIMEOUT_SECONDS)."""
    from azure.identity import WorkloadIdentityCredential
    from azure.keyvault.secrets import SecretClient

    vault_name = urlsplit(settings.vault_url).hostname or settings.vault_url
    context: dict[str, Any] = {
        "client_id": identity.client_id,
        "tenant_id": identity.tenant_id,
        "token_file": identity.token_file,
        "authority": identity.authority_host,
        "vault": settings.vault_url,
        "vault_name": vault_name.split(".")[0],
        "secret": settings.secret_name,
        "iss": "?",
        "sub": "?",
        "aud": "?",
        "exp": "?",
    }
    credential = WorkloadIdentityCredential(
        tenant_id=identity.tenant_id,
        client_id=identity.client_id,
        token_file_path=identity.token_file,
        authority=identity.authority_host,
        **_SDK_OPTIONS,
    )
    token_stage = _TokenStage(credential)
    client = SecretClient(settings.vault_url, token_stage, **_SDK_OPTIONS)
    start = clock()
    attempt = 0
    with credential, client:
        while True:
            attempt += 1
            timeouts = attempt_timeouts(settings.budget - (clock() - start))
            token_stage.request_options = timeouts
            try:
                secret = client.get_secret(settings.secret_name, **timeouts)
                return secret.value or "", secret.properties.version or ""
            except Exception as exc:
                diagnosis = classify(exc)
                failure = diagnosis.failure
                if failure.code in (EXIT_FEDERATION, EXIT_AUTH, EXIT_NOT_WIRED):
                    context.update(assertion_claims(identity.token_file))
                if failure.retry_for <= 0:
                    _fail(failure, diagnosis.detail, context)
                elapsed = clock() - start
                window = min(settings.budget, failure.retry_for)
                remaining = window - elapsed
                if remaining <= 0:
                    limit = f"RETRY_BUDGET_SECONDS={settings.budget:g}"
                    if window < settings.budget:
                        limit += f"; {diagnosis.reason} is retried for at most {window:g}s"
                    _fail(
                        failure,
                        diagnosis.detail,
                        context,
                        prefix=f"gave up after {attempt} attempt(s) in {elapsed:.1f}s ({limit}); the error persisted: ",
                    )
                # At least what the service asked for (Retry-After), never past the end of the budget.
                delay = max(diagnosis.retry_after or 0.0, backoff_delay(attempt, settings, rand))
                delay = min(remaining, delay)
                log(
                    f"retry: attempt {attempt} failed ({failure.label}, {diagnosis.reason}); attempt {attempt + 1} "
                    f"in {delay:.2f}s ({elapsed:.1f}s of the {settings.budget:g}s budget used)"
                )
                sleep(delay)


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
    try:
        value, version = read_secret(
            settings, identity, sleep=sleep, clock=clock, rand=rand, log=lambda line: say(err, line)
        )
        actual = fingerprint(value)
        if settings.expected_fingerprint and actual != settings.expected_fingerprint:
            say(
                err,
                f"FAILED (exit {EXIT_FINGERPRINT}, fingerprint mismatch): secret {settings.secret_name} version "
                f"{version} in {settings.vault_url} has fingerprint {actual}, "
                f"EXPECTED_SECRET_FINGERPRINT is {settings.expected_fingerprint}",
            )
            say(err, "  fix: the vault holds another value than expected: set the secret or update the expectation")
            return EXIT_FINGERPRINT
        say(
            out,
            f"OK secret={settings.secret_name} version={version} vault={settings.vault_url} "
            f"client_id={identity.client_id} fingerprint={actual}",
        )
        return EXIT_OK
    except Failed as exc:
        for line in exc.lines:
            say(err, line)
        return exc.code
    except Exception as exc:  # neither a traceback nor the message: either could quote response data
        say(err, f"FAILED (exit {EXIT_UNEXPECTED}, unexpected error): {_summary(exc)}")
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
