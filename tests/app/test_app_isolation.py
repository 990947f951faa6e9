"""The isolation check (DENIED_SECRET_NAME): after its own secret, the workload's identity is refused a secret it
was not granted; a read that succeeds is a leaked grant (exit 11), and an answer that proves nothing either way
(the firewall, a busy vault) is reported as what it is, never as a pass."""

from __future__ import annotations

import pytest

from app import read_secret as app
from tests.app.in_process import FakeTime, call_main, failure_line
from tests.fakes import SECRETS_USER, DemoWiring

OTHER = "payments-key"
ISOLATION = {"DENIED_SECRET_NAME": OTHER, "WORKLOAD_NAME": "orders", "DENIED_SECRET_OWNERS": "payments"}


@pytest.fixture
def scoped(in_process: DemoWiring) -> DemoWiring:
    """The demo identity granted its own secret only, and another workload's secret in the same vault."""
    in_process.vault.role_assignments.clear()
    in_process.vault.assign_role(in_process.identity.principal_id, SECRETS_USER, secret_name=in_process.secret_name)
    in_process.vault.set_secret(OTHER, "another-apps-secret-9d2f")
    return in_process


def test_a_refused_read_of_the_other_secret_is_the_proof(scoped: DemoWiring) -> None:
    result = call_main(scoped, FakeTime(), **ISOLATION)
    assert result.returncode == app.EXIT_OK, result.stderr
    own, denied = result.stdout_lines
    assert own.startswith(f"OK secret={scoped.secret_name} ")
    assert denied.startswith(f"OK denied secret={OTHER} ")
    assert denied.endswith("(403 ForbiddenByRbac)")
    assert [(r.secret, r.status) for r in scoped.azure.keyvault.reads] == [(scoped.secret_name, 200), (OTHER, 403)]


def test_a_leaked_grant_fails_naming_the_workload_the_secret_and_its_owners(scoped: DemoWiring) -> None:
    scoped.vault.assign_role(scoped.identity.principal_id, SECRETS_USER, secret_name=OTHER)
    result = call_main(scoped, FakeTime(), **ISOLATION)
    assert result.returncode == app.EXIT_LEAK == 11
    line = failure_line(result)
    assert line.startswith("read_secret: FAILED (exit 11, isolation broken): workload orders (client id ")
    assert f"read secret {OTHER} in https://" in line
    assert line.endswith("which only payments may read")


def test_a_grant_on_the_whole_vault_leaks_too(scoped: DemoWiring) -> None:
    scoped.vault.assign_role(scoped.identity.principal_id, SECRETS_USER)
    assert call_main(scoped, FakeTime(), **ISOLATION).returncode == app.EXIT_LEAK


def test_a_busy_vault_proves_nothing_and_fails(scoped: DemoWiring) -> None:
    """One attempt: the workload's own read already waited out propagation."""
    scoped.vault.fail_next_reads(1, status=429, inner="Throttled", retry_after=0, secret=OTHER)
    result = call_main(scoped, FakeTime(), **ISOLATION)
    assert result.returncode == app.EXIT_BUSY
    assert "OK denied" not in result.stdout


def test_the_firewall_proves_nothing_and_fails(scoped: DemoWiring) -> None:
    scoped.vault.fail_next_reads(1, status=403, inner="ForbiddenByFirewall", secret=OTHER)
    result = call_main(scoped, FakeTime(), **ISOLATION)
    assert result.returncode == app.EXIT_FORBIDDEN
    assert result.stdout_lines[0].startswith(f"OK secret={scoped.secret_name} ")
    assert "OK denied" not in result.stdout
    assert "firewall" in failure_line(result)


def test_the_check_runs_only_after_the_workload_read_its_own_secret(scoped: DemoWiring) -> None:
    result = call_main(scoped, FakeTime(), **(ISOLATION | {"EXPECTED_SECRET_FINGERPRINT": "0123456789ab"}))
    assert result.returncode == app.EXIT_FINGERPRINT
    assert [r.secret for r in scoped.azure.keyvault.reads] == [scoped.secret_name]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DENIED_SECRET_NAME": "not_a_name"}, "DENIED_SECRET_NAME 'not_a_name' is invalid"),
        ({"WORKLOAD_NAME": ""}, "WORKLOAD_NAME is not set"),
    ],
)
def test_bad_isolation_settings_exit_2(scoped: DemoWiring, overrides: dict[str, str], message: str) -> None:
    result = call_main(scoped, FakeTime(), **(ISOLATION | overrides))
    assert result.returncode == app.EXIT_CONFIG
    assert message in failure_line(result)
