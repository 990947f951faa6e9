"""The real program (subprocess) with the real Azure SDK over HTTPS against the local fakes.

Every run goes through FakeAzure.run, which fails the test if any 20-character piece of a secret value or of a
bearer token (service account token, or an Entra access token issued up to the end of the run) appears in stdout or
stderr, or if a traceback is printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import DEMO_SECRET_VALUE, DemoWiring, FakeAzure, RunResult, base_env, run_app, service_account_subject
from tests.fakes.azure import assert_nothing_leaked
from tests.fakes.entra import AUTHORITY_HOST, ENTRA_HOST

OK_LINE = re.compile(
    r"OK secret=(?P<name>\S+) version=(?P<version>[0-9a-f]{32}) vault=(?P<vault>\S+) "
    r"client_id=(?P<client_id>\S+) fingerprint=(?P<fingerprint>[0-9a-f]{12})"
)
# Scripted failures then success: the budget only has to be large enough never to run out on a slow machine (the
# backoff itself is shrunk by FAST_RETRY_ENV in DemoWiring.env()).
GENEROUS_BUDGET = "60"
# The subprocess tests check that the real program waits; the amounts are checked in-process against a fake clock.
TINY_DELAYS = {"RETRY_INITIAL_DELAY_SECONDS": "0.01", "RETRY_MAX_DELAY_SECONDS": "0.05"}


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


@pytest.mark.parametrize("fresh", [True, False], ids=["new interpreter", "forked"])
def test_success_prints_exactly_one_line_with_name_version_vault_client_and_fingerprint(
    demo: DemoWiring, fresh: bool
) -> None:
    result = demo.run_fresh() if fresh else demo.run()

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


# -- transient errors: retried, then success (scripted N failures, a generous budget) --------------------------
# Give-up paths, budgets and backoff are tested in-process with a fake clock (test_app_in_process.py).


def test_federated_credential_propagation_is_retried_then_succeeds(demo: DemoWiring) -> None:
    demo.azure.entra.fail_next_token_requests(3, code=70021)

    result = demo.run(RETRY_BUDGET_SECONDS=GENEROUS_BUDGET, **TINY_DELAYS)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout_lines) == 1
    assert OK_LINE.fullmatch(result.stdout_lines[0])
    assert len(result.retry_lines) == 3
    for attempt, line in enumerate(result.retry_lines, start=1):
        assert f"attempt {attempt} failed" in line
        assert "AADSTS70021" in line
    assert [r.outcome for r in demo.azure.entra.token_requests] == ["AADSTS70021"] * 3 + ["ok"]
    assert len(result.stderr_lines) == 3  # nothing but the retry lines
    delays = [float(first_group(r"in (\d+\.\d+)s", line)) for line in result.retry_lines]
    assert result.seconds >= sum(delays)  # the real program really waits


def test_role_assignment_propagation_is_retried_then_succeeds(demo: DemoWiring) -> None:
    demo.vault.fail_next_reads(3, status=403, inner="ForbiddenByRbac")

    result = demo.run(RETRY_BUDGET_SECONDS=GENEROUS_BUDGET, **TINY_DELAYS)

    assert result.returncode == 0, result.stderr
    assert len(result.retry_lines) == 3
    for attempt, line in enumerate(result.retry_lines, start=1):
        assert f"attempt {attempt} failed" in line
        assert "403" in line
        assert "ForbiddenByRbac" in line
    assert [r.status for r in demo.azure.keyvault.reads] == [403, 403, 403, 200]
    assert len(result.stderr_lines) == 3


def test_a_busy_vault_is_retried_then_succeeds(demo: DemoWiring) -> None:
    demo.vault.fail_next_reads(2, status=429, inner="Throttled", retry_after=0)

    result = demo.run(RETRY_BUDGET_SECONDS=GENEROUS_BUDGET, **TINY_DELAYS)

    assert result.returncode == 0, result.stderr
    assert len(result.retry_lines) == 2
    assert all("service busy/unavailable, HTTP 429 Throttled, Retry-After 0s" in line for line in result.retry_lines)
    assert [r.status for r in demo.azure.keyvault.reads] == [429, 429, 200]


# -- the budget bounds the run, whatever the service asks for ---------------------------------------------------


def test_a_1s_budget_ends_the_run_in_time_although_the_vault_asks_for_3s_every_time(demo: DemoWiring) -> None:
    """The SDK's own retries (10, honouring Retry-After) are off and the app's wait is cut to the budget: with its
    defaults one attempt alone would take 3 x 3 s here."""
    demo.vault.fail_next_reads(1000, status=503, inner="ServiceUnavailable", retry_after=3)

    result = demo.run(RETRY_BUDGET_SECONDS="1")

    assert result.returncode == 10, result.stderr
    assert result.seconds < 4, result.seconds  # a bound, not a benchmark: about 1.3 s
    line = failure_line(result.stderr)
    assert "service busy/unavailable" in line
    attempts = int(first_group(r"gave up after (\d+) attempt", line))
    assert len(result.retry_lines) == attempts - 1
    assert [r.status for r in demo.azure.keyvault.reads] == [503] * attempts  # one request per attempt
    assert "detail: HTTP 503 ServiceUnavailable: The service is unavailable" in result.stderr


def test_zero_budget_means_one_attempt_and_no_retry(demo: DemoWiring) -> None:
    demo.vault.role_assignments.clear()

    result = demo.run(RETRY_BUDGET_SECONDS="0")

    assert result.returncode == 5
    assert result.retry_lines == []
    assert "gave up after 1 attempt(s)" in failure_line(result.stderr)


def test_public_network_access_disabled_exits_5_at_once_naming_the_private_endpoint(fake_azure: FakeAzure) -> None:
    demo = fake_azure.demo()
    demo.vault.public_network_access = False

    result = demo.run(RETRY_BUDGET_SECONDS=GENEROUS_BUDGET)

    assert result.returncode == 5
    line = failure_line(result.stderr)
    assert "(exit 5, public network access disabled)" in line
    assert "gave up" not in line
    assert "private endpoint" in result.stderr
    assert "publicNetworkAccess" in result.stderr
    assert "ForbiddenByConnection" in result.stderr
    assert result.retry_lines == []
    assert [r.status for r in fake_azure.keyvault.reads] == [403]


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


def test_vault_that_does_not_resolve_exits_7_after_three_attempts(demo: DemoWiring) -> None:
    """A connection failure is tried 3 times (a blip heals; a wrong name does not), then reported."""
    result = demo.run(VAULT_URL="https://kv-does-not-exist.vault.azure.net/")

    assert result.returncode == 7
    assert "https://kv-does-not-exist.vault.azure.net/ could not be reached" in failure_line(result.stderr)
    assert "gave up after 3 attempt(s)" in failure_line(result.stderr)
    assert len(result.retry_lines) == 2
    assert [c.routed_to for c in demo.azure.proxy.connects if c.host == "kv-does-not-exist.vault.azure.net"]
    assert demo.azure.entra.token_requests == []


def test_direct_egress_is_impossible_in_tests_and_reads_as_unreachable(demo: DemoWiring) -> None:
    """Without the proxy the app would resolve the real name; the test network guard refuses that, installed at
    a new interpreter's start-up as at the zygote's."""
    result = demo.run_fresh(HTTPS_PROXY=None)
    assert result.returncode == 7
    result = demo.run(HTTPS_PROXY=None)

    assert result.returncode == 7
    assert "network guard" in result.stderr
    assert demo.azure.proxy.connects == []


def test_unknown_client_id_exits_9(demo: DemoWiring) -> None:
    """Retried for at most a minute (replication of a new identity: see test_app_in_process.py); no budget here."""
    result = demo.run(AZURE_CLIENT_ID="0b6f2a3c-1111-4222-8333-944445555666", RETRY_BUDGET_SECONDS="0")

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


# -- the leak check itself -------------------------------------------------------------------------------------

LEAKY_SCRIPT = """
import os
from azure.identity import WorkloadIdentityCredential

credential = WorkloadIdentityCredential(authority=os.environ["AZURE_AUTHORITY_HOST"])
token = credential.get_token("https://vault.azure.net/.default").token
print("claims start with", token.split(".")[1][:24])  # a piece of the payload only, not the token
"""


def test_the_leak_check_catches_a_piece_of_a_token_issued_during_the_run(demo: DemoWiring, tmp_path: Path) -> None:
    """The list of what must not be printed is read after the run: tokens Entra issues while it runs count."""
    script = tmp_path / "leaky.py"
    script.write_text(LEAKY_SCRIPT, encoding="utf-8")
    assert demo.azure.entra.issued_tokens == []  # the token does not exist yet when the run starts

    with pytest.raises(AssertionError, match="appeared in stdout"):
        demo.azure.run(demo.env(), script=script)

    assert len(demo.azure.entra.issued_tokens) == 1


def test_the_leak_check_catches_any_20_character_piece_of_a_secret_or_a_jwt_segment() -> None:
    header, payload, signature = "eyJhbGciOiJSUzI1NiJ9", "eyJzdWIiOiJhYmMiLCJleHAiOjE3MDB9", "c2lnbmF0dXJlLWJ5dGVz" * 3
    token = f"{header}.{payload}.{signature}"
    never = [DEMO_SECRET_VALUE, token]

    for leaked in (DEMO_SECRET_VALUE[5:25], header, payload, signature[7:40], DEMO_SECRET_VALUE):
        with pytest.raises(AssertionError, match="appeared in stderr"):
            assert_nothing_leaked(RunResult(1, "", f"read_secret: detail: ...{leaked}...\n", 0.0), never)
    assert_nothing_leaked(RunResult(0, DEMO_SECRET_VALUE[:19] + "\n", "", 0.0), never)  # 19 characters: allowed


def test_app_processes_keep_their_bytecode(tmp_path: Path) -> None:
    """Each app process would otherwise compile the Azure SDK again: most of its start-up."""
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.flags.dont_write_bytecode)"],
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert probe.stdout.strip() == "0"


def test_a_forked_run_is_its_own_process_with_exactly_its_environment(demo: DemoWiring, tmp_path: Path) -> None:
    """What the zygote gives each run: a new pid, only the given variables, its own streams and exit code."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, os, random, sys\n"
        "print(json.dumps([os.getpid(), sorted(os.environ), random.random()]))\n"
        "print('to stderr', file=sys.stderr)\n"
        "sys.exit(int(os.environ['EXIT_WITH']))\n"
    )
    env = {**base_env(tmp_path), "EXIT_WITH": "3"}
    first, second = (run_app(env, script=probe) for _ in range(2))
    assert (first.returncode, first.stderr) == (3, "to stderr\n")
    pid, names, draw = json.loads(first.stdout)
    assert pid != os.getpid()
    assert names == sorted(env)
    assert json.loads(second.stdout)[0] != pid, "a process per run"
    assert json.loads(second.stdout)[2] != draw, "random seeded afresh"
