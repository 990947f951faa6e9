"""A fake Microsoft Entra ID token endpoint for workload identity federation (client assertion grant).

It validates the client assertion the way Entra does for a federated identity credential (FIC): the assertion is a
JWT signed by a trusted OIDC issuer, and one FIC on the client id must match its ``iss``, ``sub`` and ``aud``
exactly. Failures answer with Entra's JSON error shape and the real AADSTS codes. Successful requests get an RS256
access token that FakeKeyVault verifies.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from .oidc import TOKEN_EXCHANGE_AUDIENCE, FakeOidcIssuer
from .servers import Request, Response

ENTRA_HOST = "login.microsoftonline.com"
AUTHORITY_HOST = f"https://{ENTRA_HOST}/"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY_VAULT_RESOURCE = "https://vault.azure.net"
KNOWN_RESOURCES = (KEY_VAULT_RESOURCE,)
ACCESS_TOKEN_LIFETIME = 3599
CLOCK_SKEW_SECONDS = 300
_FIC_DOC = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

# code -> (OAuth error, description template). invalid_client answers 401, the rest 400, as Entra does.
AADSTS: dict[int, tuple[str, str]] = {
    70021: (
        "invalid_request",
        "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. "
        "Assertion Subject: '{sub}'. Assertion Audience: '{aud}'. " + _FIC_DOC,
    ),
    700211: (
        "invalid_client",
        "No matching federated identity record found for presented assertion issuer '{iss}'. Please check your "
        "federated identity credential Subject, Audience and Issuer against the presented assertion. " + _FIC_DOC,
    ),
    700212: (
        "invalid_client",
        "No matching federated identity record found for presented assertion audience '{aud}'. Please check your "
        "federated identity credential Subject, Audience and Issuer against the presented assertion. " + _FIC_DOC,
    ),
    700213: (
        "invalid_client",
        "No matching federated identity record found for presented assertion subject '{sub}'. Check your "
        "federated identity credential Subject, Audience and Issuer against the presented assertion. " + _FIC_DOC,
    ),
    7002138: (
        "invalid_client",
        "No matching federated identity record found for presented assertion subject '{sub}'. The subject matches "
        "with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity "
        "credential Subject, Audience and Issuer against the presented assertion. " + _FIC_DOC,
    ),
    700016: (
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the "
        "application has not been installed by the administrator of the tenant or consented to by any user in the "
        "tenant. You may have sent your authentication request to the wrong tenant.",
    ),
    700024: (
        "invalid_client",
        "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, "
        "expiry time of assertion {exp}. Review the documentation at "
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
    ),
    700027: ("invalid_client", "Client assertion failed signature validation."),
    90002: (
        "invalid_request",
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the "
        "correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
    ),
    50027: ("invalid_request", "JWT token is invalid or malformed."),
    900144: ("invalid_request", "The request body must contain the following parameter: '{parameter}'."),
    500011: (
        "invalid_resource",
        "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the "
        "application has not been installed by the administrator of the tenant or consented to by any user in the "
        "tenant. You might have sent your authentication request to the wrong tenant.",
    ),
}


@dataclass
class FederatedCredential:
    """A federated identity credential on a managed identity / app registration."""

    issuer: str
    subject: str
    audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,)
    name: str = "fic"


@dataclass
class ManagedIdentity:
    """A user-assigned managed identity (client id = appid, principal id = object id)."""

    name: str
    client_id: str
    principal_id: str
    federated_credentials: list[FederatedCredential] = field(default_factory=list)


@dataclass
class TokenRequestRecord:
    tenant: str
    client_id: str
    scope: str
    outcome: str  # "ok", "AADSTS<code>" or "HTTP <status>" (a scripted busy answer)


class AccessTokenRejected(Exception):
    """The bearer token is not a valid token from this Entra (carries Key Vault's AKV code and message)."""


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(ts))


class FakeEntra:
    """One Entra ID cloud (``login.microsoftonline.com``) with one or more tenants.

    Configure it like the real thing: ``add_identity`` (a managed identity), ``add_federated_credential``,
    ``trust_issuer`` (an OIDC issuer whose JWKS Entra can fetch). Script propagation delays with
    ``fail_next_token_requests(n, code)`` and outages with ``busy_next_token_requests(n, status=...)``; tamper with
    answers through ``response_filter``. Inspect ``token_requests``, ``issued_tokens`` and ``unexpected_requests``.
    """

    def __init__(self, tenant_id: str, *, signing_key: RSAKey | None = None) -> None:
        self.tenant_id = tenant_id
        self.tenants: set[str] = {tenant_id}
        self.identities: dict[str, ManagedIdentity] = {}
        self.issuers: dict[str, FakeOidcIssuer] = {}
        self.token_requests: list[TokenRequestRecord] = []
        self.unexpected_requests: list[str] = []
        self.issued_tokens: list[str] = []
        self._key = signing_key if signing_key is not None else RSAKey.generate_key(2048, auto_kid=True)
        self._key.ensure_kid()
        self._scripted: deque[int | Response] = deque()
        self._lock = threading.Lock()
        # Optional hook to tamper with token endpoint answers (e.g. a corrupt body) in robustness tests.
        self.response_filter: Callable[[Response], Response] | None = None

    # -- configuration -------------------------------------------------------------------------------------------

    def add_identity(
        self, name: str = "demo-identity", *, client_id: str | None = None, principal_id: str | None = None
    ) -> ManagedIdentity:
        identity = ManagedIdentity(name, client_id or str(uuid.uuid4()), principal_id or str(uuid.uuid4()))
        self.identities[identity.client_id] = identity
        return identity

    def add_federated_credential(
        self,
        client_id: str,
        *,
        issuer: str,
        subject: str,
        audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,),
        name: str = "fic",
    ) -> FederatedCredential:
        credential = FederatedCredential(issuer, subject, audiences, name)
        self.identities[client_id].federated_credentials.append(credential)
        return credential

    def trust_issuer(self, issuer: FakeOidcIssuer) -> None:
        """Make the issuer's discovery document and JWKS reachable for Entra (public OIDC issuer URL)."""
        self.issuers[issuer.issuer_url] = issuer

    def fail_next_token_requests(self, count: int, code: int = 70021) -> None:
        """Answer the next ``count`` token requests with AADSTS``code`` (e.g. a just-created FIC not yet visible)."""
        with self._lock:
            self._scripted.extend([code] * count)

    def busy_next_token_requests(self, count: int, *, status: int = 503, retry_after: float | None = None) -> None:
        """Answer the next ``count`` token requests with ``status`` (429 throttled, 5xx unavailable), optionally
        with a Retry-After header, and the OAuth ``temporarily_unavailable`` error body."""
        body = {
            "error": "temporarily_unavailable",
            "error_description": "The service is temporarily unavailable. Please try again later.",
        }
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        with self._lock:
            self._scripted.extend([Response.json(status, body, headers)] * count)

    def respond_to_next_token_requests(self, *responses: Response) -> None:
        """Answer the next token requests with these responses, in order (e.g. tests/fakes/real_responses.py)."""
        with self._lock:
            self._scripted.extend(responses)

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            response = self._token(parts[0], request.form())
            return self.response_filter(response) if self.response_filter is not None else response
        self.unexpected_requests.append(f"{request.method} {request.path}")
        return Response.json(404, {"error": "not_found", "error_description": "fake Entra serves the token endpoint"})

    def _error(self, tenant: str, client_id: str, scope: str, code: int, **values: Any) -> Response:
        self.token_requests.append(TokenRequestRecord(tenant, client_id, scope, f"AADSTS{code}"))
        error, template = AADSTS[code]
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        values = {"tenant": tenant, "client_id": client_id, **values}
        description = (
            f"AADSTS{code}: {template.format(**values)}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
            f"\r\nTimestamp: {stamp}"
        )
        body = {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://{ENTRA_HOST}/error?code={code}",
        }
        return Response.json(401 if error == "invalid_client" else 400, body)

    def _token(self, tenant: str, form: dict[str, str]) -> Response:
        client_id, scope = form.get("client_id", ""), form.get("scope", "")

        def fail(code: int, **values: Any) -> Response:
            return self._error(tenant, client_id, scope, code, **values)

        if tenant not in self.tenants:
            return fail(90002)
        for parameter in ("client_id", "client_assertion_type", "client_assertion", "scope"):
            if not form.get(parameter):
                return fail(900144, parameter=parameter)
        if form.get("grant_type") != "client_credentials" or form["client_assertion_type"] != JWT_BEARER:
            return fail(900144, parameter="grant_type")
        claims = _unverified_claims(form["client_assertion"])  # the signature is checked against its issuer below
        if claims is None:
            return fail(50027)
        iss, sub = str(claims.get("iss", "")), str(claims.get("sub", ""))
        aud_claim = claims.get("aud", "")
        audiences = [str(a) for a in aud_claim] if isinstance(aud_claim, list) else [str(aud_claim)]
        seen = {"iss": iss, "sub": sub, "aud": ",".join(audiences)}
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        if isinstance(scripted, Response):
            self.token_requests.append(TokenRequestRecord(tenant, client_id, scope, f"HTTP {scripted.status}"))
            return scripted
        if scripted is not None:
            return fail(scripted, **seen, now="", nbf="", exp="", parameter="", resource=scope)
        identity = self.identities.get(client_id)
        if identity is None:
            return fail(700016)
        if not identity.federated_credentials:
            return fail(70021, **seen)
        by_issuer = [c for c in identity.federated_credentials if c.issuer == iss]
        if not by_issuer:
            return fail(700211, **seen)
        issuer = self.issuers.get(iss)
        try:
            if issuer is None:
                raise JoseError("issuer keys not reachable")
            jwt.decode(form["client_assertion"], issuer.public_keys(), algorithms=["RS256"])
        except JoseError:
            return fail(700027)
        now = time.time()
        exp, nbf = float(claims.get("exp", 0)), float(claims.get("nbf", claims.get("iat", 0)))
        if not (nbf - CLOCK_SKEW_SECONDS <= now < exp + CLOCK_SKEW_SECONDS):
            return fail(700024, now=_iso(now), nbf=_iso(nbf), exp=_iso(exp))
        by_subject = [c for c in by_issuer if c.subject == sub]
        if not by_subject:
            if any(c.subject.lower() == sub.lower() for c in by_issuer):
                return fail(7002138, **seen)
            return fail(700213, **seen)
        if not any(a in c.audiences for c in by_subject for a in audiences):
            return fail(700212, **seen)
        resource = scope.removesuffix("/.default").rstrip("/")
        if not scope.endswith("/.default") or resource not in KNOWN_RESOURCES:
            return fail(500011, resource=resource)
        token = self._issue_access_token(tenant, identity, resource)
        self.token_requests.append(TokenRequestRecord(tenant, client_id, scope, "ok"))
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "ext_expires_in": ACCESS_TOKEN_LIFETIME,
                "access_token": token,
            },
        )

    # -- access tokens -------------------------------------------------------------------------------------------

    def _issue_access_token(self, tenant: str, identity: ManagedIdentity, resource: str) -> str:
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "appid": identity.client_id,
            "appidacr": "2",
            "idtyp": "app",
            "oid": identity.principal_id,
            "sub": identity.principal_id,
            "tid": tenant,
            "ver": "1.0",
        }
        token = jwt.encode({"alg": "RS256", "kid": self._key.kid}, claims, self._key)
        self.issued_tokens.append(token)
        return token

    def verify_access_token(self, token: str, *, audience: str) -> dict[str, Any]:
        """Claims of a token this Entra issued for ``audience``; raise AccessTokenRejected(AKV-style message)."""
        try:
            claims = jwt.decode(token, KeySet([self._key]), algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            raise AccessTokenRejected("AKV10019: Invalid token signature.") from None
        if claims.get("aud") != audience:
            raise AccessTokenRejected(f"AKV10022: Invalid audience. Expected {audience}, found: {claims.get('aud')}.")
        if float(claims.get("exp", 0)) <= time.time():
            raise AccessTokenRejected("AKV10017: The token has expired.")
        return claims


def _unverified_claims(token: str) -> dict[str, Any] | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    return claims if isinstance(claims, dict) else None
