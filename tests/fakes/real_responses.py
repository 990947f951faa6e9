"""Failure responses as Entra ID and Key Vault really send them, each from a documented real response.

The bodies are verbatim from the source named above each one, except where its comment says what was filled in
(trace and correlation ids the source elided, or a body the source shows only as an SDK rendered it); the HTTP
framing is added where the source shows the body alone. Inject them with
FakeEntra.respond_to_next_token_requests or FakeVault.respond_to_next_reads.
"""

from __future__ import annotations

import json

from .servers import RESET_CONNECTION, Response

__all__ = [
    "ENTRA_429_PLAIN_TEXT",
    "ENTRA_AADSTS50166",
    "ENTRA_AADSTS90061",
    "ENTRA_AADSTS501661",
    "ENTRA_AADSTS7000272",
    "ENTRA_AADSTS7002137",
    "KEY_VAULT_403_FIREWALL",
    "KEY_VAULT_429_WITHOUT_RETRY_AFTER",
    "RESET_CONNECTION",
]


def _json(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    json.loads(body)  # a fixture must stay valid JSON, as the service sent it
    return Response(status, body.encode(), {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


# Entra could not fetch the cluster issuer's discovery document or keys, for a moment. Azure/azure-workload-identity
# docs/book/src/troubleshooting.md (commit 01dc4644), from issue #605: "StatusCode: 400", this ResponseBody, no
# error_uri.
ENTRA_AADSTS90061 = _json(
    400,
    '{"error":"invalid_request","error_description":"AADSTS90061: Request to External OIDC endpoint failed.\\r\\n'
    "Trace ID: 86c81de3-efbd-4c0f-854d-cb8f329e5b00\\r\\nCorrelation ID: a92568a5-cc37-4136-ad4d-1ba82988abc2\\r\\n"
    'Timestamp: 2022-10-21 04:36:48Z","error_codes":[90061],"timestamp":"2022-10-21 04:36:48Z",'
    '"trace_id":"86c81de3-efbd-4c0f-854d-cb8f329e5b00","correlation_id":"a92568a5-cc37-4136-ad4d-1ba82988abc2"}',
)
# Azure/azure-workload-identity issue #642 (body only; the status is the token endpoint's for invalid_request).
ENTRA_AADSTS50166 = _json(
    400,
    '{"error": "invalid_request", "error_description": "AADSTS50166: Request to External OIDC endpoint failed.\\r\\n'
    "Trace ID: ce5b401b-3f4a-4b41-a5ab-6e1a5a7a4d00\\r\\nCorrelation ID: cb69fd74-4a9e-4e37-9b1a-1c27b14d0d31\\r\\n"
    'Timestamp: 2022-11-16 12:01:14Z", "error_codes": [50166], "timestamp": "2022-11-16 12:01:14Z", '
    '"trace_id": "ce5b401b-3f4a-4b41-a5ab-6e1a5a7a4d00", "correlation_id": "cb69fd74-4a9e-4e37-9b1a-1c27b14d0d31"}',
)
# Azure/AKS issue #4029 shows MSAL.NET's rendering only ("ErrorCode: invalid_request ... AADSTS501661: Request to
# External OIDC endpoint failed. Trace ID: ..."): the body of 90061 above with this code; ids filled in.
ENTRA_AADSTS501661 = _json(
    400,
    '{"error":"invalid_request","error_description":"AADSTS501661: Request to External OIDC endpoint failed.\\r\\n'
    "Trace ID: 5d1e6f0a-2b3c-4d5e-8f90-a1b2c3d4e500\\r\\nCorrelation ID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b\\r\\n"
    'Timestamp: 2023-12-09 02:40:08Z","error_codes":[501661],"timestamp":"2023-12-09 02:40:08Z",'
    '"trace_id":"5d1e6f0a-2b3c-4d5e-8f90-a1b2c3d4e500","correlation_id":"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"}',
)
# A key missing from the issuer's published keys. Azure/azure-workload-identity issue #1232 (body as posted; an
# invalid_client error comes with 401 from the v2.0 token endpoint).
ENTRA_AADSTS7000272 = _json(
    401,
    '{"error":"invalid_client","error_description":"AADSTS7000272: The certificate with identifier '
    "DFA184AB5E2B3F6529B8CFCE195305014236E297 used to sign the federated credential could not be found in the "
    "metadata of identity provider https://oidc.svasys.com. Please validate that your Identity Provider's metadata "
    "exposes the key used to sign the incoming token. Trace ID: fe3494ee-58a0-4ba5-b6d1-8e3b7b0f1c00 Correlation ID: "
    'ba0dd475-55c1-4e8f-9c2f-3a8f1a0e6c5d Timestamp: 2024-01-14 20:29:53Z","error_codes":[7000272],'
    '"timestamp":"2024-01-14 20:29:53Z","trace_id":"fe3494ee-58a0-4ba5-b6d1-8e3b7b0f1c00",'
    '"correlation_id":"ba0dd475-55c1-4e8f-9c2f-3a8f1a0e6c5d","error_uri":"https://login.microsoftonline.com/error?code=7000272"}',
)
# A newer member of the federated-credential mismatch family, not in the app's list of codes. microsoft/Agents
# issue #202: "statusCode 401" with this body (tenant and app ids, trace and correlation ids filled in).
ENTRA_AADSTS7002137 = _json(
    401,
    '{"error":"invalid_client","error_description":"AADSTS7002137: No matching federated identity record found for '
    "presented assertion subject '/eid1/c/pub/t/00000000-0000-0000-0000-000000000000/a/app'. Please make sure the "
    "federated identity credential Subject is '/eid1/c/pub/t/{tenantId}/a/{appId}'. Trace ID: "
    '3c1f7a10-6b2e-4f0d-9a1c-5e8d7c6b5a00","error_codes":[7002137],"timestamp":"2025-03-02 10:11:12Z",'
    '"trace_id":"3c1f7a10-6b2e-4f0d-9a1c-5e8d7c6b5a00","correlation_id":"7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2910"}',
)
# Entra throttling: AzureAD/microsoft-authentication-library-for-dotnet issue #2855 (by a maintainer): "StatusCode:
# 429", "ResponseBody: Too Many Requests", "Headers: Retry-After: 60" (here 1 s, so that a test rides it out).
ENTRA_429_PLAIN_TEXT = Response(429, b"Too Many Requests", {"Content-Type": "text/plain", "Retry-After": "1"})

# Key Vault's firewall: courselabs/azure labs/vnet-apps/README.md, verbatim (its caller ids shortened there).
KEY_VAULT_403_FIREWALL = _json(
    403,
    '{"error":{"code":"Forbidden","message":"Client address is not authorized and caller is not a trusted service.'
    "\\r\\nClient address: 20.126.176.160\\r\\nCaller: appid=19ee0b80-0000-0000-0000-000000000000;"
    "oid=4a09a335-0000-0000-0000-000000000000;iss=https://sts.windows.net/68c58dc9-0000-0000-0000-000000000000/"
    '\\r\\nVault: labsvnetappses;location=westeurope","innererror":{"code":"ForbiddenByFirewall"}}}',
)
# Key Vault throttling: vcsjones/AzureSignTool issue #219, "Status: 429", this body, and no Retry-After among the
# headers shown; Key Vault's throttling guidance asks clients to back off exponentially on their own.
KEY_VAULT_429_WITHOUT_RETRY_AFTER = _json(
    429,
    '{"error":{"code":"Throttled","message":"Request was not processed because too many requests were received. '
    'Reason: VaultRequestTypeLimitReached"}}',
    {"x-ms-keyvault-region": "westeurope", "x-ms-keyvault-service-version": "1.9.1395.1"},
)
