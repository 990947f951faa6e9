"""What the workload identity webhook injects into the pod (environment and projected token), checked before use."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .settings import setting, shown

_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_TENANT = re.compile(r"[A-Za-z0-9.-]+")


class NotWiredError(Exception):
    """The workload identity webhook's environment or token file is missing."""


@dataclass(frozen=True)
class WorkloadIdentity:
    client_id: str
    tenant_id: str
    token_file: str
    authority_host: str


_WEBHOOK_VARS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")
LABEL_FIX = (
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
    missing = [name for name in _WEBHOOK_VARS if not setting(env, name)]
    if missing == ["AZURE_CLIENT_ID"]:
        raise NotWiredError(
            "AZURE_CLIENT_ID is not set although the webhook injected the rest: the ServiceAccount has no "
            f"azure.workload.identity/client-id annotation. Fix: {_ANNOTATION_FIX}"
        )
    if missing:
        raise NotWiredError(
            f"{', '.join(missing)} not set: the workload identity webhook did not mutate this pod. Fix: {LABEL_FIX}"
        )
    client_id, tenant_id = setting(env, "AZURE_CLIENT_ID"), setting(env, "AZURE_TENANT_ID")
    token_file, authority = setting(env, "AZURE_FEDERATED_TOKEN_FILE"), setting(env, "AZURE_AUTHORITY_HOST")
    if not _GUID.fullmatch(client_id):
        raise NotWiredError(f"AZURE_CLIENT_ID {shown(client_id)} is not a client id (GUID). Fix: {_ANNOTATION_FIX}")
    if not _TENANT.fullmatch(tenant_id):
        raise NotWiredError(f"AZURE_TENANT_ID {shown(tenant_id)} is not a tenant id. Fix: {LABEL_FIX}")
    if not authority.lower().startswith("https://"):
        raise NotWiredError(f"AZURE_AUTHORITY_HOST {shown(authority)} is not an https URL. Fix: {LABEL_FIX}")
    if not os.path.isfile(token_file):
        raise NotWiredError(
            f"AZURE_FEDERATED_TOKEN_FILE {token_file} does not exist: the projected service account token "
            f"(volume azure-identity-token) is not mounted. Fix: {LABEL_FIX}"
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
