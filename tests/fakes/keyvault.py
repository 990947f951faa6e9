"""A fake Azure Key Vault data plane (secrets GET) with the real challenge flow, RBAC and Key Vault error shapes.

An unauthenticated request gets ``401`` with ``WWW-Authenticate: Bearer authorization="<authority>/<tenant>",
resource="https://vault.azure.net"`` (what the SDK's challenge policy parses and verifies against the vault's DNS
name). An authenticated request must carry an access token FakeEntra issued for ``https://vault.azure.net`` in the
vault's tenant; authorization then follows the vault's mode (Azure RBAC role assignments, or access policies) and
firewall, answering Key Vault's ``Forbidden`` bodies with ``ForbiddenByRbac`` / ``AccessDenied`` /
``ForbiddenByFirewall`` / ``ForbiddenByConnection`` inner errors, ``404 SecretNotFound`` or ``200`` with a
SecretBundle. Scripted failures (``fail_next_reads``) add ``ForbiddenByPolicy``, 429 and 5xx with Retry-After.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .entra import AUTHORITY_HOST, KEY_VAULT_RESOURCE, AccessTokenRejected, FakeEntra
from .servers import Request, Response

VAULT_DNS_SUFFIX = "vault.azure.net"
SECRETS_USER = "Key Vault Secrets User"
# Built-in role definition ids (same in every tenant).
ROLE_DEFINITION_IDS = {
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    SECRETS_USER: "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
}
ROLES_THAT_READ_SECRETS = {"Key Vault Administrator", "Key Vault Secrets Officer", SECRETS_USER}
_ROLE_NAMES = {v: k for k, v in ROLE_DEFINITION_IDS.items()}
SERVICE_VERSION = "1.9.2500.1"


@dataclass
class SecretVersion:
    value: str
    version: str
    enabled: bool = True
    content_type: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class RoleAssignment:
    principal_id: str
    role: str  # role name, e.g. "Key Vault Secrets User"
    secret_name: str | None = None  # None: vault scope; else the secret's scope


@dataclass
class ReadRecord:
    vault: str
    secret: str
    principal_id: str | None
    status: int


@dataclass
class FakeVault:
    """One vault. ``rbac`` False means access-policy mode (``access_policies``: principal id -> permissions)."""

    name: str
    tenant_id: str
    location: str = "westeurope"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "rg-demo"
    rbac: bool = True
    firewall_allows: bool = True
    public_network_access: bool = True  # False: publicNetworkAccess Disabled and no private endpoint in the fakes
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    access_policies: dict[str, set[str]] = field(default_factory=dict)
    scripted: deque[tuple[int, str, float | None] | Response] = field(default_factory=deque)
    # Scripted answers for reads of one secret only, before `scripted`.
    scripted_for: dict[str, deque[tuple[int, str, float | None]]] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"{self.name}.{VAULT_DNS_SUFFIX}"

    @property
    def url(self) -> str:
        return f"https://{self.host}/"

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/providers/microsoft.keyvault/vaults/{self.name}"
        )

    def set_secret(self, name: str, value: str, *, enabled: bool = True, content_type: str | None = None) -> str:
        version = uuid.uuid4().hex
        self.secrets.setdefault(name, []).append(SecretVersion(value, version, enabled, content_type))
        return version

    def assign_role(self, principal_id: str, role: str = SECRETS_USER, *, secret_name: str | None = None) -> None:
        """Role by name or built-in role definition id; scope is the vault, or one secret."""
        self.role_assignments.append(RoleAssignment(principal_id, _ROLE_NAMES.get(role, role), secret_name))

    def fail_next_reads(
        self,
        count: int,
        *,
        status: int = 403,
        inner: str = "ForbiddenByRbac",
        retry_after: float | None = None,
        secret: str | None = None,
    ) -> None:
        """Answer the next ``count`` authenticated reads (of ``secret`` only, when given) with this error (e.g. a
        just-made role assignment: 403 ``ForbiddenByRbac``; throttling: 429 ``Throttled``; an outage: 503
        ``ServiceUnavailable``), optionally with a Retry-After header. For a 403, ``inner`` is the inner error code
        ("" for none)."""
        queue = self.scripted if secret is None else self.scripted_for.setdefault(secret, deque())
        queue.extend([(status, inner, retry_after)] * count)

    def respond_to_next_reads(self, *responses: Response) -> None:
        """Answer the next authenticated reads with these responses, in order (e.g. tests/fakes/real_responses.py)."""
        self.scripted.extend(responses)

    def may_read(self, principal_id: str, secret_name: str) -> bool:
        if not self.rbac:
            return "get" in self.access_policies.get(principal_id, set())
        return any(
            a.principal_id == principal_id
            and a.role in ROLES_THAT_READ_SECRETS
            and a.secret_name in (None, secret_name)
            for a in self.role_assignments
        )


class FakeKeyVault:
    """The Key Vault service for ``*.vault.azure.net``: a set of FakeVaults validated against one FakeEntra."""

    def __init__(self, entra: FakeEntra) -> None:
        self.entra = entra
        self.vaults: dict[str, FakeVault] = {}
        self.reads: list[ReadRecord] = []
        self.challenges = 0
        self.unexpected_requests: list[str] = []
        # Optional hook to tamper with authenticated answers (e.g. a corrupt body) in robustness tests.
        self.response_filter: Callable[[Response], Response] | None = None
        self._lock = threading.Lock()

    def add_vault(self, name: str, *, tenant_id: str | None = None, **options: Any) -> FakeVault:
        vault = FakeVault(name=name.lower(), tenant_id=tenant_id or self.entra.tenant_id, **options)
        self.vaults[vault.name] = vault
        return vault

    def vault_for_host(self, host: str) -> FakeVault | None:
        name, _, suffix = host.lower().partition(".")
        return self.vaults.get(name) if suffix == VAULT_DNS_SUFFIX else None

    def secret_values(self) -> list[str]:
        return [v.value for vault in self.vaults.values() for versions in vault.secrets.values() for v in versions]

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        vault = self.vault_for_host(request.host)
        parts = request.path.strip("/").split("/")
        if vault is None or request.method != "GET" or parts[0] != "secrets" or len(parts) not in (2, 3):
            self.unexpected_requests.append(f"{request.method} {request.host}{request.path}")
            return _error(400, "BadParameter", "The fake Key Vault serves GET /secrets/{name}[/{version}] only.")
        if not request.query.get("api-version"):
            return _error(400, "BadParameter", "The request URI contains an invalid or missing api-version.")
        secret_name, version = parts[1], parts[2] if len(parts) == 3 else ""

        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            with self._lock:
                self.challenges += 1
            return self._unauthorized(vault, "AKV10000: Request is missing a Bearer or PoP token.")
        try:
            claims = self.entra.verify_access_token(authorization[len("Bearer ") :], audience=KEY_VAULT_RESOURCE)
        except AccessTokenRejected as exc:
            return self._unauthorized(vault, str(exc))
        if claims.get("tid") != vault.tenant_id:
            return self._unauthorized(
                vault,
                f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{vault.tenant_id}/, found "
                f"{claims.get('iss')}.",
            )
        principal = str(claims.get("oid"))
        response = self._authorized_get(vault, request.host, secret_name, version, claims)
        if self.response_filter is not None:
            response = self.response_filter(response)
        with self._lock:
            self.reads.append(ReadRecord(vault.name, secret_name, principal, response.status))
        return response

    def _authorized_get(
        self, vault: FakeVault, host: str, secret_name: str, version: str, claims: dict[str, Any]
    ) -> Response:
        principal, appid = str(claims.get("oid")), str(claims.get("appid"))
        caller = f"appid={appid};oid={principal};iss={claims.get('iss')}"
        with self._lock:
            own = vault.scripted_for.get(secret_name)
            scripted = own.popleft() if own else vault.scripted.popleft() if vault.scripted else None
        if isinstance(scripted, Response):
            return scripted
        if scripted is not None:
            status, inner, retry_after = scripted
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            if status == 403:
                return _forbidden(vault, inner, caller, secret_name)
            message = _BUSY_MESSAGES.get(status, f"Scripted failure {status} {inner}.")
            return _error(status, inner or "InternalServerError", message, headers=headers)
        if not vault.public_network_access:
            return _forbidden(vault, "ForbiddenByConnection", caller, secret_name)
        if not vault.firewall_allows:
            return _forbidden(vault, "ForbiddenByFirewall", caller, secret_name)
        if not vault.may_read(principal, secret_name):
            return _forbidden(vault, "ForbiddenByRbac" if vault.rbac else "AccessDenied", caller, secret_name)
        versions = vault.secrets.get(secret_name, [])
        chosen = [v for v in versions if v.version == version] if version else versions[-1:]
        if not chosen:
            label = f"{secret_name}/{version}" if version else secret_name
            return _error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {label} was not found in this key vault. If you recently deleted this "
                "secret you may be able to recover it using the correct recovery command. For help resolving this "
                "issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        secret = chosen[0]
        if not secret.enabled:
            return _error(
                403, "Forbidden", "Operation get is not allowed on a disabled secret.", inner="SecretDisabled"
            )
        bundle: dict[str, Any] = {
            "value": secret.value,
            "id": f"https://{host}/secrets/{secret_name}/{secret.version}",
            "attributes": {
                "enabled": True,
                "created": secret.created,
                "updated": secret.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": {},
        }
        if secret.content_type:
            bundle["contentType"] = secret.content_type
        return Response.json(200, bundle, _headers())

    def _unauthorized(self, vault: FakeVault, message: str) -> Response:
        challenge = (
            f'Bearer authorization="{AUTHORITY_HOST.rstrip("/")}/{vault.tenant_id}", resource="{KEY_VAULT_RESOURCE}"'
        )
        return _error(401, "Unauthorized", message, headers={"WWW-Authenticate": challenge})


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-keyvault-service-version": SERVICE_VERSION,
        "x-ms-keyvault-region": "westeurope",
        **(extra or {}),
    }


def _error(
    status: int, code: str, message: str, *, inner: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return Response.json(status, {"error": error}, _headers(headers))


_BUSY_MESSAGES = {
    429: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
    503: "The service is unavailable, please retry.",
}


def _forbidden(vault: FakeVault, inner: str, caller: str, secret_name: str) -> Response:
    """Key Vault's 403 for ``inner`` ("" for a 403 without an inner error)."""
    where = f"Vault: {vault.name};location={vault.location}"
    if inner == "ForbiddenByRbac":
        message = (
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or "
            "role definitions were changed recently, please observe propagation time.\r\n"
            f"Caller: {caller}\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"
            f"Resource: '{vault.resource_id}/secrets/{secret_name.lower()}'\r\nAssignment: (not found)\r\n"
            f"DenyAssignmentId: null\r\nDecisionReason: null \r\n{where}\r\n"
        )
    elif inner in ("AccessDenied", "ForbiddenByPolicy"):
        message = (
            f"The user, group or application '{caller}' does not have secrets get permission on key vault "
            f"'{vault.name};location={vault.location}'. For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125287"
        )
    elif inner == "ForbiddenByConnection":
        message = (
            "Public network access is disabled and request is not from a trusted service nor via an approved "
            f"private link.\r\nCaller: {caller}\r\n{where}"
        )
    elif inner == "ForbiddenByFirewall":
        message = (
            f"Client address is not authorized and caller is not a trusted service.\r\nCaller: {caller}\r\n{where}"
        )
    else:
        message = f"Access denied.\r\nCaller: {caller}\r\n{where}"
    return _error(403, "Forbidden", message, inner=inner or None)
