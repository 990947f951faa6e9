"""The app against the failure responses Entra ID and Key Vault really send (tests/fakes/real_responses.py).

What real clusters see now and then must be ridden out (a moment without the issuer's keys, a reset connection,
throttling); what the app does not list by code must still be recognised by its family; what the fix needs (the
address a vault firewall saw) must be shown, and nothing that could be a token or the value.
"""

from __future__ import annotations

import json

import pytest

from app import read_secret as app
from app.read_secret.classify import aadsts_failure
from tests.app.in_process import FakeTime, call_main, failure_line
from tests.fakes import DemoWiring
from tests.fakes.real_responses import (
    ENTRA_429_PLAIN_TEXT,
    ENTRA_AADSTS50166,
    ENTRA_AADSTS90061,
    ENTRA_AADSTS501661,
    ENTRA_AADSTS7000272,
    ENTRA_AADSTS7002137,
    KEY_VAULT_403_FIREWALL,
    KEY_VAULT_429_WITHOUT_RETRY_AFTER,
    RESET_CONNECTION,
)
from tests.fakes.servers import Response

ISSUER_FETCH_FAILURES = {"AADSTS50166": ENTRA_AADSTS50166, "AADSTS90061": ENTRA_AADSTS90061}
ISSUER_FETCH_FAILURES["AADSTS501661"] = ENTRA_AADSTS501661


@pytest.mark.parametrize("code", list(ISSUER_FETCH_FAILURES))
def test_a_moment_without_the_issuers_keys_is_ridden_out(in_process: DemoWiring, code: str) -> None:
    in_process.azure.entra.respond_to_next_token_requests(ISSUER_FETCH_FAILURES[code])

    result = call_main(in_process, FakeTime())

    assert result.returncode == app.EXIT_OK, result.stderr
    assert result.stdout_lines[0].startswith("OK secret=")
    (retry,) = result.retry_lines
    assert f"(issuer keys unavailable, {code})" in retry


def test_the_issuers_keys_missing_for_long_exits_9_with_the_issuer_fix(in_process: DemoWiring) -> None:
    in_process.azure.entra.respond_to_next_token_requests(*[ENTRA_AADSTS90061] * 1000)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, RETRY_BUDGET_SECONDS="600", RETRY_MAX_DELAY_SECONDS="30")

    assert result.returncode == app.EXIT_AUTH
    line = failure_line(result)
    assert "(exit 9, issuer keys unavailable): gave up after" in line
    assert "AADSTS90061 is retried for at most 180s" in line
    assert "could not fetch the OpenID configuration or keys of the issuer https://" in line
    assert ".well-known/openid-configuration answers from the internet" in result.stderr
    assert 180 <= fake_time.now - 1000 < 181  # its own window, well inside the 600 s budget


def test_an_unlisted_member_of_the_federated_credential_mismatch_family_is_retried_then_exits_4(
    in_process: DemoWiring,
) -> None:
    in_process.azure.entra.respond_to_next_token_requests(*[ENTRA_AADSTS7002137] * 1000)

    result = call_main(in_process, FakeTime(), RETRY_BUDGET_SECONDS="10")

    assert result.returncode == app.EXIT_FEDERATION
    assert "(exit 4, federated credential mismatch): gave up after" in failure_line(result)
    assert result.retry_lines
    assert all("AADSTS7002137" in line for line in result.retry_lines)


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (7002199, "AADSTS7002199: No matching federated identity record found for presented assertion."),
        (9999999, "AADSTS9999999: No matching federated identity record found for presented assertion audience."),
        (7002140, "AADSTS7002140: A description Entra has not written yet."),
    ],
)
def test_the_mismatch_family_is_known_by_its_description_or_its_code(code: int, description: str) -> None:
    assert aadsts_failure(code, description).code == app.EXIT_FEDERATION


def test_a_signing_key_missing_from_the_issuers_keys_gets_its_own_fix(in_process: DemoWiring) -> None:
    in_process.azure.entra.respond_to_next_token_requests(ENTRA_AADSTS7000272)

    result = call_main(in_process, FakeTime())

    assert result.returncode == app.EXIT_AUTH
    assert "(exit 9, signing key not published)" in failure_line(result)
    assert "rotate-signing-keys" in result.stderr
    assert result.retry_lines == []


def test_a_firewall_403_shows_the_client_address_it_saw_and_not_the_caller(in_process: DemoWiring) -> None:
    in_process.vault.respond_to_next_reads(KEY_VAULT_403_FIREWALL)

    result = call_main(in_process, FakeTime())

    assert result.returncode == app.EXIT_FORBIDDEN
    detail = next(line for line in result.stderr_lines if line.startswith("read_secret:   detail: "))
    assert detail == (
        "read_secret:   detail: HTTP 403 ForbiddenByFirewall from client address 20.126.176.160: "
        "Client address is not authorized and caller is not a trusted service."
    )
    assert "appid=" not in result.stderr
    assert "oid=" not in result.stderr


@pytest.mark.parametrize("hop", ["Entra ID", "Key Vault"])
def test_a_single_reset_connection_is_ridden_out(in_process: DemoWiring, hop: str) -> None:
    if hop == "Entra ID":
        in_process.azure.entra.respond_to_next_token_requests(RESET_CONNECTION)
    else:
        in_process.vault.respond_to_next_reads(RESET_CONNECTION)

    result = call_main(in_process, FakeTime())

    assert result.returncode == app.EXIT_OK, result.stderr
    (retry,) = result.retry_lines
    assert ("Entra ID unreachable" if hop == "Entra ID" else "vault unreachable") in retry


@pytest.mark.parametrize(("hop", "exit_code"), [("Entra ID", 9), ("Key Vault", 7)])
def test_a_connection_that_keeps_failing_is_tried_three_times(in_process: DemoWiring, hop: str, exit_code: int) -> None:
    if hop == "Entra ID":
        in_process.azure.entra.respond_to_next_token_requests(*[RESET_CONNECTION] * 10)
    else:
        in_process.vault.respond_to_next_reads(*[RESET_CONNECTION] * 10)

    result = call_main(in_process, FakeTime())

    assert result.returncode == exit_code
    assert len(result.retry_lines) == 2
    assert "gave up after 3 attempt(s)" in failure_line(result)
    assert "unreachable: tried at most 3 times" in failure_line(result)


def test_entras_plain_text_429_waits_its_retry_after(in_process: DemoWiring) -> None:
    in_process.azure.entra.respond_to_next_token_requests(ENTRA_429_PLAIN_TEXT)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time)

    assert result.returncode == app.EXIT_OK, result.stderr
    (retry,) = result.retry_lines
    assert "(service busy/unavailable, HTTP 429, Retry-After 1s)" in retry
    assert fake_time.sleeps == [1.0]  # Retry-After over the 0.05 s backoff


def test_key_vaults_429_without_retry_after_backs_off_on_its_own(in_process: DemoWiring) -> None:
    in_process.vault.respond_to_next_reads(KEY_VAULT_429_WITHOUT_RETRY_AFTER, KEY_VAULT_429_WITHOUT_RETRY_AFTER)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time)

    assert result.returncode == app.EXIT_OK, result.stderr
    assert [line.split("; attempt")[0] for line in result.retry_lines] == [
        "read_secret: retry: attempt 1 failed (service busy/unavailable, HTTP 429 Throttled)",
        "read_secret: retry: attempt 2 failed (service busy/unavailable, HTTP 429 Throttled)",
    ]
    assert fake_time.sleeps == [0.05, 0.1]  # the backoff (rand = 1.0), doubling


def test_the_fixtures_are_what_the_services_send() -> None:
    """Guards the fixtures themselves: a real Entra error names its code in both places; no body quotes a token."""
    for response in (*ISSUER_FETCH_FAILURES.values(), ENTRA_AADSTS7000272, ENTRA_AADSTS7002137):
        body = json.loads(response.body)
        assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
        assert response.status == (401 if body["error"] == "invalid_client" else 400)
    assert isinstance(ENTRA_429_PLAIN_TEXT, Response)
    assert not ENTRA_429_PLAIN_TEXT.body.startswith(b"{")
    assert "retry-after" not in {name.lower() for name in KEY_VAULT_429_WITHOUT_RETRY_AFTER.headers}
