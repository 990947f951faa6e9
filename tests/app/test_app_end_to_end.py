"""The real program (subprocess) with the real Azure SDK over HTTPS against the local fakes.

Every run goes through FakeAzure.run, which fails the test if a secret value or a bearer token (service account
token or Entra access token) appears in stdout or stderr, or if a traceback is printed.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable

import pytest

from tests.fakes import DEMO_SECRET_VALUE, DemoWiring, FakeAzure, base_env, service_account_subject
from tests.fakes.entra import AUTHORITY_HOST, ENTRA_HOST

OK_LINE = re.compile(
    r"OK secret=(?P<name>\S+) version=(?P<version>[0-9a-f]{32}) vault=(?P<vault>\S+) "
    r"client_id=(?P<client_id>\S+) fingerprint=(?P<fingerprint>[0-9a-f]{12})"
)
# Small budgets keep the give-up tests fast; the backoff itself is shrunk by FAST_RETRY_ENV in DemoWiring.env().
SHORT_BUDGET = "0.8"


def sha12(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def first_group(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return match[1]


def failure_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("read_secret: FAILED")]
    assert len(lines) == 1, stderr
    return lines[0]


# -- success --------------------------------------------------------------------------------------------------


def test_success_prints_exactly_one_line_with_name_version_vault_client_and_fingerprint(demo: DemoWiring) -> None:
    result = demo.run()

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout_lines) == 1
    match = OK_LINE.fullmatch(result.stdout_lines[0])
    assert match, result.stdout
    assert match["name"] == demo.secret_name
    assert match["version"] == demo.version
    assert match["vault"] == "https://kv-wi-demo.vault.azure.net/"
    assert match["client_id"] == demo.identity.client_id
    assert match["fingerprint"] == sha12(DEMO_SECRET_VALUE)


def test_success_goes_through_the_real_challenge_and_token_exchange_only(demo: DemoWiring) -> None:
    azure = demo.azure

    assert demo.run().returncode == 0

    assert azure.keyvault.challenges == 1  # unauthenticated request -> 401 + WWW-Authenticate
    assert [r.outcome for r in azure.entra.token_requests] == ["ok"]
    assert azure.entra.token_requests[0].scope == "https://vault.azure.net/.default"
    assert [(r.secret, r.principal_id, r.status) for r in azure.keyvault.reads] == [
        (demo.secret_name, demo.identity.principal_id, 200)
    ]
    # No instance discovery / metadata requests, and no host other than Entra and the vault was contacted.
    assert azure.entra.unexpected_requests == []
    assert {c.host for c in azure.proxy.connects} == {ENTRA_HOST, demo.vault.host}


def test_bare_vault_name_maps_to_the_public_cloud_uri(demo: DemoWiring) -> None:
    result = demo.run(VAULT_URL="kv-wi-demo")

    assert result.returncode == 0, result.stderr
    assert "vault=https://kv-wi-demo.vault.azure.net/ " in result.stdout


def test_matching_expected_fingerprint_succeeds(demo: DemoWiring) -> None:
    result = demo.run(EXPECTED_SECRET_FINGERPRINT=sha12(DEMO_SECRET_VALUE))

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1


def test_role_assigned_at_secret_scope_is_enough(fake_azure: FakeAzure) -> None:
    demo = fake_azure.demo()
    demo.vault.role_assignments.clear()
    demo.vault.assign_role(
        demo.identity.principal_id, "4633458b-17de-408a-b874-0445c86b69e6", secret_name="demo-secret"
    )

    assert demo.run().returncode == 0


def test_the_newest_version_is_read(demo: DemoWiring) -> None:
    newest = demo.vault.set_secret(demo.secret_name, "second-CANARY-value-2b7e")

    result = demo.run(EXPECTED_SECRET_FINGERPRINT=sha12("second-CANARY-value-2b7e"))

    assert result.returncode == 0, result.stderr
    assert f"version={newest} " in result.stdout


# -- fingerprint ----------------------------------------------------------------------------------------------


def test_fingerprint_mismatch_exits_8_naming_both_fingerprints(demo: DemoWiring) -> None:
    result = demo.run(EXPECTED_SECRET_FINGERPRINT="0123456789ab")

    assert result.returncode == 8
    assert result.stdout == ""
    line = failure_line(result.stderr)
    assert sha12(DEMO_SECRET_VALUE) in line
    assert "0123456789ab" in line
    assert result.retry_lines == []


# -- propagation delays: retried, then success ----------------------------------------------------------------


def test_federated_credential_propagation_is_retried_then_succeeds(demo: DemoWiring) -> None:
    demo.azure.entra.fail_next_token_requests(3, code=70021)

    result = demo.run()

    assert result.returncode == 0, result.stderr
    assert len(result.stdout_lines) == 1
    assert OK_LINE.fullmatch(result.stdout_lines[0])
    assert len(result.retry_lines) == 3
    for attempt, line in enumerate(result.retry_lines, start=1):
        assert f"attempt {attempt} failed" in line
        assert "AADSTS70021" in line
    assert [r.outcome for r in demo.azure.entra.token_requests] == ["AADSTS70021"] * 3 + ["ok"]
    assert len(result.stderr_lines) == 3  # nothing but the retry lines


def test_role_assignment_propagation_is_retried_then_succeeds(demo: DemoWiring) -> None:
    demo.vault.fail_next_reads(3, status=403, inner="ForbiddenByRbac")

    result = demo.run()

    assert result.returncode == 0, result.stderr
    assert len(result.retry_lines) == 3
    for attempt, line in enumerate(result.retry_lines, start=1):
        assert f"attempt {attempt} failed" in line
        assert "403" in line
        assert "ForbiddenByRbac" in line
    assert [r.status for r in demo.azure.keyvault.reads] == [403, 403, 403, 200]
    assert len(result.stderr_lines) == 3


def test_retries_wait_with_growing_backoff(demo: DemoWiring) -> None:
    demo.azure.entra.fail_next_token_requests(3, code=700213)

    started = time.monotonic()
    result = demo.run(RETRY_INITIAL_DELAY_SECONDS="0.1", RETRY_MAX_DELAY_SECONDS="1")
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    delays = [float(first_group(r"in (\d+\.\d+)s", line)) for line in result.retry_lines]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = 0.1 * 2 ** (attempt - 1)
        assert ceiling / 2 - 0.01 <= delay <= ceiling + 0.01  # jitter: between half and all of the ceiling
    assert elapsed >= sum(delays)


# -- propagation never completes: budget exhausted -----------------------------------------------------------


def _assert_gave_up(result_stderr: str, retry_lines: list[str]) -> str:
    line = failure_line(result_stderr)
    attempts = int(first_group(r"gave up after (\d+) attempt", line))
    assert len(retry_lines) == attempts - 1
    assert f"RETRY_BUDGET_SECONDS={SHORT_BUDGET}" in line
    return line


@pytest.mark.parametrize(
    ("breakage", "aadsts"),
    [
        ("other_service_account", "AADSTS700213"),
        ("other_namespace", "AADSTS700213"),
        ("subject_case", "AADSTS7002138"),
        ("other_cluster_issuer", "AADSTS700211"),
        ("wrong_audience", "AADSTS700212"),
        ("no_federated_credential", "AADSTS70021"),
    ],
)
def test_federated_credential_mismatch_exits_4_after_the_budget(
    fake_azure: FakeAzure, breakage: str, aadsts: str
) -> None:
    demo = fake_azure.demo()
    fic = demo.identity.federated_credentials[0]
    env: dict[str, str | None] = {"RETRY_BUDGET_SECONDS": SHORT_BUDGET}
    if breakage == "other_service_account":
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(fake_azure.project_token("demo", "default"))
    elif breakage == "other_namespace":
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(fake_azure.project_token("default", "secret-reader"))
    elif breakage == "subject_case":
        fic.subject = service_account_subject("demo", "Secret-Reader")
    elif breakage == "other_cluster_issuer":
        fic.issuer = "https://westeurope.oic.prod-aks.azure.com/other-tenant/other-cluster/"
    elif breakage == "wrong_audience":
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(
            fake_azure.project_token("demo", "secret-reader", audience="api://SomethingElse")
        )
    else:
        demo.identity.federated_credentials.clear()

    result = demo.run(**env)

    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    line = _assert_gave_up(result.stderr, result.retry_lines)
    assert "federated credential mismatch" in line
    assert all(aadsts in retry for retry in result.retry_lines)
    assert aadsts + ":" in result.stderr  # the detail line quotes Entra
    fix = next(x for x in result.stderr_lines if x.startswith("read_secret:   fix:"))
    assert demo.identity.client_id in fix
    assert "system:serviceaccount:<namespace>:<serviceaccount>" in fix
    assert fake_azure.cluster.issuer_url in fix  # the issuer this pod presents
    assert fake_azure.keyvault.reads == []  # never got as far as the vault


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("no_role", "lacks 'Key Vault Secrets User' on vault kv-wi-demo"),
        ("reader_role_only", "lacks 'Key Vault Secrets User' on vault kv-wi-demo"),
        ("access_policy_mode", "is not in Azure RBAC mode"),
        ("firewall", "firewall of vault kv-wi-demo"),
    ],
)
def test_forbidden_exits_5_after_the_budget(fake_azure: FakeAzure, breakage: str, expected: str) -> None:
    demo = fake_azure.demo()
    if breakage in ("no_role", "reader_role_only"):
        demo.vault.role_assignments.clear()
        if breakage == "reader_role_only":
            demo.vault.assign_role(demo.identity.principal_id, "Key Vault Reader")
    elif breakage == "access_policy_mode":
        demo.vault.rbac = False
    else:
        demo.vault.firewall_allows = False

    result = demo.run(RETRY_BUDGET_SECONDS=SHORT_BUDGET)

    assert result.returncode == 5, result.stderr
    line = _assert_gave_up(result.stderr, result.retry_lines)
    assert expected in line
    assert demo.identity.client_id in result.stderr
    assert len(result.retry_lines) >= 1
    assert all("HTTP 403" in retry for retry in result.retry_lines)


def test_zero_budget_means_one_attempt_and_no_retry(demo: DemoWiring) -> None:
    demo.vault.role_assignments.clear()

    result = demo.run(RETRY_BUDGET_SECONDS="0")

    assert result.returncode == 5
    assert result.retry_lines == []
    assert "gave up after 1 attempt(s)" in failure_line(result.stderr)


# -- permanent failures: classified at once, no retry --------------------------------------------------------


def test_secret_not_found_exits_6_at_once(demo: DemoWiring) -> None:
    result = demo.run(SECRET_NAME="no-such-secret")

    assert result.returncode == 6
    line = failure_line(result.stderr)
    assert "no (enabled) secret named no-such-secret" in line
    assert "SecretNotFound" in result.stderr
    assert result.retry_lines == []
    assert [r.status for r in demo.azure.keyvault.reads] == [404]


def test_disabled_secret_exits_6_at_once(fake_azure: FakeAzure) -> None:
    demo = fake_azure.demo()
    demo.vault.secrets[demo.secret_name][-1].enabled = False

    result = demo.run()

    assert result.returncode == 6
    assert "is disabled" in failure_line(result.stderr)
    assert result.retry_lines == []


def test_vault_that_does_not_resolve_exits_7_at_once(demo: DemoWiring) -> None:
    result = demo.run(VAULT_URL="https://kv-does-not-exist.vault.azure.net/")

    assert result.returncode == 7
    assert "https://kv-does-not-exist.vault.azure.net/ could not be reached" in failure_line(result.stderr)
    assert result.retry_lines == []
    assert [c.routed_to for c in demo.azure.proxy.connects if c.host == "kv-does-not-exist.vault.azure.net"]
    assert demo.azure.entra.token_requests == []


def test_direct_egress_is_impossible_in_tests_and_reads_as_unreachable(demo: DemoWiring) -> None:
    """Without the proxy the app would resolve the real name; the test network guard refuses that."""
    result = demo.run(HTTPS_PROXY=None)

    assert result.returncode == 7
    assert "network guard" in result.stderr
    assert demo.azure.proxy.connects == []


def test_unknown_client_id_exits_9_at_once(demo: DemoWiring) -> None:
    result = demo.run(AZURE_CLIENT_ID="0b6f2a3c-1111-4222-8333-944445555666")

    assert result.returncode == 9
    line = failure_line(result.stderr)
    assert "no application/managed identity with client id 0b6f2a3c-1111-4222-8333-944445555666" in line
    assert "AADSTS700016" in result.stderr
    assert "azure.workload.identity/client-id" in result.stderr
    assert result.retry_lines == []
    assert [r.outcome for r in demo.azure.entra.token_requests] == ["AADSTS700016"]


def test_expired_service_account_token_exits_9_at_once(fake_azure: FakeAzure) -> None:
    demo = fake_azure.demo()
    stale = fake_azure.project_token("demo", "secret-reader", issued_at=time.time() - 7200, lifetime=3600)

    result = demo.run(AZURE_FEDERATED_TOKEN_FILE=str(stale))

    assert result.returncode == 9
    line = failure_line(result.stderr)
    assert "service account token expired" in line
    assert re.search(r"\(exp \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", line), line
    assert "AADSTS700024" in result.stderr
    assert result.retry_lines == []


def test_token_not_signed_by_the_cluster_issuer_exits_9(fake_azure: FakeAzure) -> None:
    from joserfc.jwk import RSAKey

    demo = fake_azure.demo()
    forged = fake_azure.project_token("demo", "secret-reader", signing_key=RSAKey.generate_key(2048, auto_kid=True))

    result = demo.run(AZURE_FEDERATED_TOKEN_FILE=str(forged))

    assert result.returncode == 9
    assert "AADSTS700027" in result.stderr
    assert result.retry_lines == []


def test_tenant_not_found_exits_9(fake_azure: FakeAzure) -> None:
    ghost_tenant = "5f0c9a1e-0000-4000-8000-00000000dead"
    demo = fake_azure.demo()
    ghost_vault = fake_azure.keyvault.add_vault("kv-ghost", tenant_id=ghost_tenant)
    ghost_vault.set_secret("demo-secret", DEMO_SECRET_VALUE)

    result = demo.run(AZURE_TENANT_ID=ghost_tenant, VAULT_URL=ghost_vault.url)

    assert result.returncode == 9
    assert "tenant not found" in failure_line(result.stderr)
    assert "AADSTS90002" in result.stderr


def test_vault_in_another_tenant_exits_9_without_asking_entra(fake_azure: FakeAzure) -> None:
    demo = fake_azure.demo()
    other = fake_azure.keyvault.add_vault("kv-elsewhere", tenant_id="7d1e2f3a-0000-4000-8000-000000000001")
    other.set_secret("demo-secret", DEMO_SECRET_VALUE)

    result = demo.run(VAULT_URL=other.url)

    assert result.returncode == 9
    assert "vault in another tenant" in failure_line(result.stderr)
    assert fake_azure.entra.token_requests == []


# -- workload identity not wired -----------------------------------------------------------------------------


WEBHOOK_VARS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST")


@pytest.mark.parametrize(
    ("removed", "hint"),
    [
        (WEBHOOK_VARS, 'azure.workload.identity/use: "true"'),  # pod not labelled: webhook injected nothing
        (("AZURE_CLIENT_ID",), "azure.workload.identity/client-id annotation"),  # ServiceAccount not annotated
        (("AZURE_FEDERATED_TOKEN_FILE",), 'azure.workload.identity/use: "true"'),
        (("AZURE_AUTHORITY_HOST",), 'azure.workload.identity/use: "true"'),
    ],
)
def test_missing_webhook_environment_exits_3_at_once(demo: DemoWiring, removed: tuple[str, ...], hint: str) -> None:
    result = demo.run(**dict.fromkeys(removed))

    assert result.returncode == 3
    assert result.stdout == ""
    assert len(result.stderr_lines) == 1
    assert "workload identity not wired" in result.stderr
    assert hint in result.stderr
    for name in removed:
        assert name in result.stderr
    assert demo.azure.proxy.connects == []  # no network at all, in particular no managed identity / IMDS fallback


def test_missing_token_file_exits_3_naming_the_path(demo: DemoWiring) -> None:
    path = demo.token_file.parent / "missing-token"

    result = demo.run(AZURE_FEDERATED_TOKEN_FILE=str(path))

    assert result.returncode == 3
    assert f"AZURE_FEDERATED_TOKEN_FILE {path} does not exist" in result.stderr
    assert 'azure.workload.identity/use: "true"' in result.stderr
    assert demo.azure.proxy.connects == []


def test_client_id_that_is_not_a_guid_exits_3(demo: DemoWiring) -> None:
    result = demo.run(AZURE_CLIENT_ID="${CLIENT_ID}")

    assert result.returncode == 3
    assert "AZURE_CLIENT_ID '${CLIENT_ID}' is not a client id" in result.stderr


def test_token_path_is_taken_from_the_environment(fake_azure: FakeAzure) -> None:
    """Older webhook releases mounted the token under /var/run/secrets/azure/tokens/: any path works."""
    demo = fake_azure.demo()
    legacy = fake_azure.workdir / "var/run/secrets/azure/tokens/azure-identity-token"
    fake_azure.cluster.project(legacy, "demo", "secret-reader")

    result = demo.run(AZURE_FEDERATED_TOKEN_FILE=str(legacy))

    assert result.returncode == 0, result.stderr


def test_authority_host_comes_from_the_webhook(demo: DemoWiring) -> None:
    assert demo.env()["AZURE_AUTHORITY_HOST"] == AUTHORITY_HOST
    result = demo.run(AZURE_AUTHORITY_HOST="https://login.microsoftonline.us/")

    assert result.returncode == 9  # the fake cloud has no such host: Entra unreachable, not a silent fallback
    assert "Entra ID unreachable" in failure_line(result.stderr)
    assert "login.microsoftonline.us" in result.stderr


# -- the fakes declared like an infrastructure stack ---------------------------------------------------------


def test_wiring_declared_from_stack_style_outputs(fake_azure_factory: Callable[..., FakeAzure]) -> None:
    """What a stack declares (tenant, cluster issuer, identity ids, FIC, vault, secret, role) drives the fakes."""
    declared = {
        "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "oidcIssuerUrl": "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/c0ffee00/",
        "clientId": "6e3f4a5b-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        "principalId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "namespace": "wi-demo",
        "serviceAccount": "wi-demo-reader",
        "vaultName": "kvwidemo0123",
        "secretName": "demo-message",
    }
    azure = fake_azure_factory(tenant_id=declared["tenantId"], oidc_issuer_url=declared["oidcIssuerUrl"])
    identity = azure.entra.add_identity(client_id=declared["clientId"], principal_id=declared["principalId"])
    azure.entra.add_federated_credential(
        identity.client_id,
        issuer=declared["oidcIssuerUrl"],
        subject=service_account_subject(declared["namespace"], declared["serviceAccount"]),
    )
    vault = azure.keyvault.add_vault(declared["vaultName"])
    vault.set_secret(declared["secretName"], "stack-CANARY-5e9a")
    vault.assign_role(declared["principalId"], "4633458b-17de-408a-b874-0445c86b69e6")  # Key Vault Secrets User
    token_file = azure.project_token(declared["namespace"], declared["serviceAccount"])
    env = {
        **base_env(azure.workdir),
        **azure.network_env(),
        **azure.webhook_env(identity.client_id, token_file),
        "VAULT_URL": declared["vaultName"],
        "SECRET_NAME": declared["secretName"],
        "EXPECTED_SECRET_FINGERPRINT": sha12("stack-CANARY-5e9a"),
    }

    result = azure.run(env)

    assert result.returncode == 0, result.stderr
    assert f"client_id={declared['clientId']} fingerprint={sha12('stack-CANARY-5e9a')}" in result.stdout
