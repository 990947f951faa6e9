"""The isolation check: the workload's identity must be refused a secret it was not granted.

Run after the workload read its own secret (so its grants have propagated, and with them any grant that leaked),
one attempt: Key Vault's 403 `ForbiddenByRbac` is the proof; a read that succeeds is a leaked grant. Any other
answer (the firewall, an unknown secret, a busy vault) proves nothing either way and is reported as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .failures import EXIT_LEAK, EXIT_OK, FORBIDDEN_BY_INNER
from .retry import Failed

if TYPE_CHECKING:
    from .settings import Isolation, Settings
    from .webhook import WorkloadIdentity

ReadSecret = Callable[["Settings", "WorkloadIdentity"], tuple[str, str]]


def check_denied(
    settings: Settings,
    isolation: Isolation,
    identity: WorkloadIdentity,
    *,
    read: ReadSecret,
    say: Callable[[str, bool], None],
) -> int:
    denied = isolation.denied_secret
    try:
        read(replace(settings, secret_name=denied, budget=0.0, expected_fingerprint=None), identity)
    except Failed as exc:
        if exc.failure is FORBIDDEN_BY_INNER["ForbiddenByRbac"]:
            vault, client = settings.vault_url, identity.client_id
            say(f"OK denied secret={denied} vault={vault} client_id={client} (403 ForbiddenByRbac)", True)
            return EXIT_OK
        for line in exc.lines:
            say(line, False)
        return exc.code
    say(
        f"FAILED (exit {EXIT_LEAK}, isolation broken): workload {isolation.workload} (client id {identity.client_id}) "
        f"read secret {denied} in {settings.vault_url}, which only {isolation.owners} may read",
        False,
    )
    say(
        f"  fix: remove the Key Vault role assignment that lets {isolation.workload}'s identity read {denied} "
        f"(az role assignment list --assignee {identity.client_id} --all), or list {denied} in its secrets",
        False,
    )
    return EXIT_LEAK
