"""A fake Kubernetes service-account token issuer: the AKS cluster's OIDC issuer and the kubelet's token projection."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


class FakeOidcIssuer:
    """Signs projected service account tokens (RS256) like a cluster's API server and publishes its JWKS.

    ``issuer_url`` is what an AKS cluster reports as ``oidcIssuerProfile.issuerUrl``; Entra trusts tokens from it
    for a federated identity credential whose ``issuer`` equals that URL exactly.
    """

    def __init__(self, issuer_url: str, key: RSAKey | None = None) -> None:
        self.issuer_url = issuer_url
        self.key = key if key is not None else RSAKey.generate_key(2048, auto_kid=True)
        self.key.ensure_kid()
        self.issued: list[str] = []

    def jwks(self) -> dict[str, Any]:
        """The public JSON Web Key Set (what ``<issuer>/openid/v1/jwks`` serves)."""
        return dict(KeySet([self.key]).as_dict(private=False))

    def public_keys(self) -> KeySet:
        return KeySet.import_key_set(KeySet([self.key]).as_dict(private=False))

    def issue(
        self,
        subject: str,
        *,
        audience: str | list[str] = TOKEN_EXCHANGE_AUDIENCE,
        lifetime: int = 3600,
        issued_at: float | None = None,
        issuer: str | None = None,
        extra: dict[str, Any] | None = None,
        signing_key: RSAKey | None = None,
    ) -> str:
        """A signed token; override ``issuer``/``signing_key``/times to forge broken ones."""
        now = int(time.time() if issued_at is None else issued_at)
        key = signing_key if signing_key is not None else self.key
        claims: dict[str, Any] = {
            "aud": [audience] if isinstance(audience, str) else audience,
            "exp": now + lifetime,
            "iat": now,
            "nbf": now,
            "iss": issuer if issuer is not None else self.issuer_url,
            "sub": subject,
            "jti": str(uuid.uuid4()),
            **(extra or {}),
        }
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        self.issued.append(token)
        return token

    def service_account_token(self, namespace: str, service_account: str, **kwargs: Any) -> str:
        """A projected token for ``system:serviceaccount:<namespace>:<service_account>`` (kubelet-style claims)."""
        extra = {
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": service_account, "uid": str(uuid.uuid4())},
                "pod": {"name": f"{service_account}-job-abcde", "uid": str(uuid.uuid4())},
            }
        }
        return self.issue(service_account_subject(namespace, service_account), extra=extra, **kwargs)

    def project(self, path: Path, namespace: str, service_account: str, **kwargs: Any) -> Path:
        """Write the token file the way the kubelet projects it into the pod (the webhook's token path)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.service_account_token(namespace, service_account, **kwargs), encoding="utf-8")
        return path
