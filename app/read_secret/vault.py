"""One read of the secret through the Azure SDK: the workload identity credential, the Key Vault client, and their
options. The Azure SDK is imported only when a read starts, after the settings and the webhook's wiring passed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .classify import TokenError
from .retry import CONNECTION_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, retry_within_budget
from .settings import Settings
from .webhook import WorkloadIdentity, assertion_claims

# No SDK retries at all (retry.py owns them): each attempt is a single request per hop, with the transport
# timeouts the retry loop passes, then our own classification.
_SDK_OPTIONS: dict[str, Any] = {
    "retry_total": 0,
    "connection_timeout": CONNECTION_TIMEOUT_SECONDS,
    "read_timeout": READ_TIMEOUT_SECONDS,
}


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


def read_secret(
    settings: Settings,
    identity: WorkloadIdentity,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    rand: Callable[[], float],
    log: Callable[[str], None],
) -> tuple[str, str]:
    """Fetch the secret, retrying transient errors within the budget; return (value, version) or raise Failed."""
    from azure.identity import WorkloadIdentityCredential
    from azure.keyvault.secrets import SecretClient

    context = _context(settings, identity)
    credential = WorkloadIdentityCredential(
        tenant_id=identity.tenant_id,
        client_id=identity.client_id,
        token_file_path=identity.token_file,
        authority=identity.authority_host,
        **_SDK_OPTIONS,
    )
    token_stage = _TokenStage(credential)
    client = SecretClient(settings.vault_url, token_stage, **_SDK_OPTIONS)

    def attempt_once(timeouts: dict[str, Any]) -> tuple[str, str]:
        token_stage.request_options = timeouts
        secret = client.get_secret(settings.secret_name, **timeouts)
        return secret.value or "", secret.properties.version or ""

    with credential, client:
        return retry_within_budget(
            attempt_once,
            settings,
            context,
            claims=lambda: assertion_claims(identity.token_file),
            sleep=sleep,
            clock=clock,
            rand=rand,
            log=log,
        )


def _context(settings: Settings, identity: WorkloadIdentity) -> dict[str, Any]:
    """What the failure texts name; the token's claims are added when an identity failure needs them."""
    vault_name = urlsplit(settings.vault_url).hostname or settings.vault_url
    unknown_claims = dict.fromkeys(("iss", "sub", "aud", "exp"), "?")
    return {
        "client_id": identity.client_id,
        "tenant_id": identity.tenant_id,
        "token_file": identity.token_file,
        "authority": identity.authority_host,
        "vault": settings.vault_url,
        "vault_name": vault_name.split(".")[0],
        "secret": settings.secret_name,
        **unknown_claims,
    }
