"""Local fakes of Microsoft Entra ID, Azure Key Vault and an AKS cluster's OIDC issuer, for tests without a cloud."""

from .azure import DEMO_SECRET_VALUE, DemoWiring, FakeAzure, RunResult, base_env, run_app
from .entra import FakeEntra, FederatedCredential, ManagedIdentity
from .keyvault import SECRETS_USER, FakeKeyVault, FakeVault
from .oidc import TOKEN_EXCHANGE_AUDIENCE, FakeOidcIssuer, service_account_subject

__all__ = [
    "DEMO_SECRET_VALUE",
    "SECRETS_USER",
    "TOKEN_EXCHANGE_AUDIENCE",
    "DemoWiring",
    "FakeAzure",
    "FakeEntra",
    "FakeKeyVault",
    "FakeOidcIssuer",
    "FakeVault",
    "FederatedCredential",
    "ManagedIdentity",
    "RunResult",
    "base_env",
    "run_app",
    "service_account_subject",
]
