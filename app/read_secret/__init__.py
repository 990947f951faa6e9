"""Read one Azure Key Vault secret through Microsoft Entra Workload ID and report it without revealing it.

Runs as a Kubernetes Job on AKS (``python -m read_secret``). The workload identity webhook injects AZURE_CLIENT_ID,
AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST; the Job sets VAULT_URL and SECRET_NAME (see
README.md). On success it prints one line naming the secret, its version, the vault, the client id and the value's
fingerprint. On failure it names the broken link and its fix and exits with a code per failure class. Transient
errors (a new federated credential or role assignment propagating, a busy service) are retried within a budget.
Neither the secret value nor a token is ever printed, and neither is SDK exception text (it may quote a response
body): only types, HTTP statuses and parsed error fields.

Modules: settings (the app's variables), webhook (what the webhook injects), failures (exit codes and the catalogue),
redact (what may be printed), classify (exception -> failure), retry (the budgeted loop), vault (the SDK calls),
mounted (file mode: the check of a file the Secrets Store CSI driver mounted, SECRET_FILE), cli (the entry point).
"""

from .classify import retry_after_seconds
from .cli import main
from .failures import (
    EXIT_AUTH,
    EXIT_BUSY,
    EXIT_CONFIG,
    EXIT_FEDERATION,
    EXIT_FINGERPRINT,
    EXIT_FORBIDDEN,
    EXIT_LEAK,
    EXIT_NOT_FOUND,
    EXIT_NOT_WIRED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_UNREACHABLE,
    TOKEN_EXCHANGE_AUDIENCE,
)
from .fingerprint import fingerprint
from .retry import attempt_timeouts, backoff_delay
from .settings import (
    DEFAULT_RETRY_BUDGET_SECONDS,
    DEFAULT_RETRY_INITIAL_DELAY_SECONDS,
    DEFAULT_RETRY_MAX_DELAY_SECONDS,
    ConfigError,
    parse_settings,
    parse_vault_url,
)

__all__ = [
    "DEFAULT_RETRY_BUDGET_SECONDS",
    "DEFAULT_RETRY_INITIAL_DELAY_SECONDS",
    "DEFAULT_RETRY_MAX_DELAY_SECONDS",
    "EXIT_AUTH",
    "EXIT_BUSY",
    "EXIT_CONFIG",
    "EXIT_FEDERATION",
    "EXIT_FINGERPRINT",
    "EXIT_FORBIDDEN",
    "EXIT_LEAK",
    "EXIT_NOT_FOUND",
    "EXIT_NOT_WIRED",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_UNREACHABLE",
    "TOKEN_EXCHANGE_AUDIENCE",
    "ConfigError",
    "attempt_timeouts",
    "backoff_delay",
    "fingerprint",
    "main",
    "parse_settings",
    "parse_vault_url",
    "retry_after_seconds",
]
