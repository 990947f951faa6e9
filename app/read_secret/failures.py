"""What can go wrong, as data: exit codes, and per failure class its retry window, problem and fix.

The texts are format strings over the run's context (client_id, vault_name, iss, sub, ...). No logic here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .webhook import LABEL_FIX

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
EXIT_LEAK = 11

# Values the Pulumi program sets too (tests/app/test_contract.py checks that they agree).
SECRETS_USER_ROLE = "Key Vault Secrets User"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class Failure:
    """One failure class: exit code, for how many seconds of the budget it is retried, and what to tell the user."""

    code: int
    label: str
    retry_for: float  # NO_RETRY: report at once; RETRY_ALWAYS: retry for the whole budget; else at most that long
    problem: str
    fix: str
    max_attempts: int = 0  # when > 0: give up after this many failed attempts of this class, budget or not


NO_RETRY = 0.0
RETRY_ALWAYS = math.inf
# A just-created managed identity can be unknown to the token endpoint for a short while (replication).
UNKNOWN_CLIENT_RETRY_SECONDS = 60.0
# Entra's fetch of the cluster issuer's discovery document or keys failing for a moment: the
# azure-workload-identity troubleshooting guide and its issues report it as occasional. Longer means
# the issuer is really unreachable or wrong.
ISSUER_FETCH_RETRY_SECONDS = 180.0
# A connection reset or timeout is retried a few times (azure-core's default policy retries these
# too), then reported: a name that does not resolve or a blocked route does not heal by waiting.
CONNECTION_ATTEMPTS = 3
# How Entra describes every federated-credential mismatch, whatever its code (70021, 700211-700213,
# 7002137, 7002138, ...): Microsoft's error reference warns against depending on exact code lists.
FIC_MISMATCH_DESCRIPTION = "No matching federated identity record found"
FIC_MISMATCH_CODE_PREFIX = "70021"
# Entra could not fetch the issuer's OpenID configuration or keys (AADSTS50166, 90061, 501661).
ISSUER_FETCH_DESCRIPTION = "Request to External OIDC endpoint failed"
ISSUER_FETCH_CODES = frozenset({50166, 90061, 501661})

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
    7000272: Failure(
        EXIT_AUTH,
        "signing key not published",
        NO_RETRY,
        "the service account token is signed with a key that the issuer {iss} does not publish in its keys (jwks_uri)",
        "after a signing key rotation (az aks oidc-issuer rotate-signing-keys), wait until {iss} publishes the new key "
        "and recreate the pod; check that the federated credential's issuer is this cluster's issuer (az aks show "
        "--query oidcIssuerProfile.issuerUrl)",
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
FIC_MISMATCH = FAILURES_BY_AADSTS[70021]
ISSUER_FETCH_FAILED = Failure(
    EXIT_AUTH,
    "issuer keys unavailable",
    ISSUER_FETCH_RETRY_SECONDS,
    "Entra ID could not fetch the OpenID configuration or keys of the issuer {iss}",
    "usually brief (retried); if it persists, check that the federated credential's issuer is this cluster's issuer "
    "(az aks show --query oidcIssuerProfile.issuerUrl) and that {iss}.well-known/openid-configuration answers "
    "from the internet",
)
ENTRA_UNREACHABLE = Failure(
    EXIT_AUTH,
    "Entra ID unreachable",
    RETRY_ALWAYS,
    "the token endpoint at {authority} could not be reached from the pod",
    "allow egress from the cluster to {authority} (443/tcp; network policies, firewall, proxy settings)",
    max_attempts=CONNECTION_ATTEMPTS,
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
    RETRY_ALWAYS,
    "{vault} could not be reached (the name does not resolve, the connection fails, or it is not a Key Vault)",
    "check VAULT_URL, that the vault exists, DNS/private endpoint resolution and egress to it on 443/tcp",
    max_attempts=CONNECTION_ATTEMPTS,
)
# The host answered, but not as a Key Vault: no retry heals that.
NOT_A_KEY_VAULT = replace(VAULT_UNREACHABLE, retry_for=NO_RETRY, max_attempts=0)
TOKEN_FILE_GONE = Failure(
    EXIT_NOT_WIRED,
    "workload identity not wired",
    NO_RETRY,
    "the service account token {token_file} could not be read",
    LABEL_FIX,
)
UNEXPECTED = Failure(
    EXIT_UNEXPECTED,
    "unexpected error",
    NO_RETRY,
    "an unexpected error occurred while reading {secret} from {vault}",
    "retry the Job; if it persists, check the vault and this app's SDK versions (details are withheld: an "
    "unexpected error's text may quote the response, which could contain the secret)",
)
