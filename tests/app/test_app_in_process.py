"""In-process runs of ``main()`` with an injected clock, sleep and randomness (still the real SDK and fakes).

Budgets, backoff, Retry-After and give-up paths are checked here against a fake clock, so they neither depend on how
fast the machine is nor spend wall-clock time waiting.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from app import read_secret as app
from tests.app.in_process import FakeTime, call_main, failure_line
from tests.fakes import DEMO_SECRET_VALUE, DemoWiring, RunResult, service_account_subject
from tests.fakes.azure import assert_nothing_leaked
from tests.fakes.entra import ENTRA_HOST
from tests.fakes.servers import Response

# RETRY_BUDGET_SECONDS=10, delays 1, 2, 4 (cap 4) with rand=1.0: sleeps 1, 2, 4, then the 3 s left; 5 attempts.
BUDGET_10 = {"RETRY_BUDGET_SECONDS": "10", "RETRY_INITIAL_DELAY_SECONDS": "1", "RETRY_MAX_DELAY_SECONDS": "4"}
GAVE_UP_10 = "gave up after 5 attempt(s) in 10.0s (RETRY_BUDGET_SECONDS=10); the error persisted: "


def test_budget_caps_the_total_wait_and_the_last_sleep_is_shortened(in_process: DemoWiring) -> None:
    in_process.azure.entra.fail_next_token_requests(1000, code=70021)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, **BUDGET_10)

    assert result.returncode == app.EXIT_FEDERATION
    assert fake_time.sleeps == [1, 2, 4, 3]  # 1+2+4 = 7, then only the 3 s left of the budget
    assert len(result.retry_lines) == 4
    assert "gave up after 5 attempt(s) in 10.0s (RETRY_BUDGET_SECONDS=10)" in result.stderr
    assert len(in_process.azure.entra.token_requests) == 5


def test_retries_wait_with_growing_jittered_backoff(in_process: DemoWiring) -> None:
    in_process.azure.entra.fail_next_token_requests(4, code=700213)
    fake_time = FakeTime()
    jitter = iter([0.0, 1.0, 0.5, 0.0])
    out, err = io.StringIO(), io.StringIO()

    code = app.main(
        in_process.env(RETRY_INITIAL_DELAY_SECONDS="0.1", RETRY_MAX_DELAY_SECONDS="0.5"),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rand=lambda: next(jitter),
        stdout=out,
        stderr=err,
    )

    assert code == app.EXIT_OK, err.getvalue()
    # ceilings 0.1, 0.2, 0.4, 0.5 (capped); jitter takes between half and all of each
    assert fake_time.sleeps == pytest.approx([0.05, 0.2, 0.3, 0.25])
    logged = [float(x) for x in re.findall(r"in (\d+\.\d+)s", err.getvalue())]
    assert logged == pytest.approx(fake_time.sleeps, abs=0.005)


def test_transient_403_then_success_in_process(in_process: DemoWiring) -> None:
    in_process.vault.fail_next_reads(2)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time)

    assert result.returncode == app.EXIT_OK, result.stderr
    assert result.stdout_lines == [
        f"OK secret={in_process.secret_name} version={in_process.version} vault={in_process.vault.url} "
        f"client_id={in_process.identity.client_id} fingerprint={app.fingerprint(DEMO_SECRET_VALUE)}"
    ]
    assert fake_time.sleeps == [0.05, 0.1]
    assert len(result.retry_lines) == 2


# -- propagation never completes: exit after the budget ----------------------------------------------------------


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
    in_process: DemoWiring, breakage: str, aadsts: str
) -> None:
    azure = in_process.azure
    fic = in_process.identity.federated_credentials[0]
    env: dict[str, str | None] = dict(BUDGET_10)
    if breakage == "other_service_account":
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(azure.project_token("demo", "default"))
    elif breakage == "other_namespace":
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(azure.project_token("default", "secret-reader"))
    elif breakage == "subject_case":
        fic.subject = service_account_subject("demo", "Secret-Reader")
    elif breakage == "other_cluster_issuer":
        fic.issuer = "https://westeurope.oic.prod-aks.azure.com/other-tenant/other-cluster/"
    elif breakage == "wrong_audience":
        env["AZURE_FEDERATED_TOKEN_FILE"] = str(
            azure.project_token("demo", "secret-reader", audience="api://SomethingElse")
        )
    else:
        in_process.identity.federated_credentials.clear()
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, **env)

    assert result.returncode == app.EXIT_FEDERATION, result.stderr
    assert result.stdout == ""
    assert f"(exit 4, federated credential mismatch): {GAVE_UP_10}" in failure_line(result)
    assert len(result.retry_lines) == 4
    assert all(f"(federated credential mismatch, {aadsts})" in line for line in result.retry_lines)
    assert fake_time.sleeps == [1, 2, 4, 3]
    assert f"detail: {aadsts}:" in result.stderr  # the detail line quotes Entra's description
    fix = next(x for x in result.stderr_lines if x.startswith("read_secret:   fix:"))
    assert in_process.identity.client_id in fix
    assert "system:serviceaccount:<namespace>:<serviceaccount>" in fix
    assert azure.cluster.issuer_url in fix  # the issuer this pod presents
    assert azure.keyvault.reads == []  # never got as far as the vault


# -- Key Vault 403: only a missing role assignment (or a 403 without an inner code) may be propagation ----------


@pytest.mark.parametrize(
    ("breakage", "inner", "expected"),
    [
        ("no_role", "ForbiddenByRbac", "lacks 'Key Vault Secrets User' on vault {vault}"),
        ("reader_role_only", "ForbiddenByRbac", "lacks 'Key Vault Secrets User' on vault {vault}"),
        ("403_without_inner_code", "HTTP 403 Forbidden", "it lacks 'Key Vault Secrets User', or the vault is not"),
    ],
)
def test_forbidden_that_may_be_propagation_exits_5_after_the_budget(
    in_process: DemoWiring, breakage: str, inner: str, expected: str
) -> None:
    in_process.vault.role_assignments.clear()
    if breakage == "reader_role_only":
        in_process.vault.assign_role(in_process.identity.principal_id, "Key Vault Reader")
    elif breakage == "403_without_inner_code":
        in_process.vault.fail_next_reads(1000, status=403, inner="")
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, **BUDGET_10)

    assert result.returncode == app.EXIT_FORBIDDEN, result.stderr
    line = failure_line(result)
    assert f"(exit 5, forbidden): {GAVE_UP_10}" in line
    assert expected.format(vault=in_process.vault.name) in line
    assert in_process.identity.client_id in result.stderr
    assert len(result.retry_lines) == 4
    assert all("HTTP 403" in retry and inner in retry for retry in result.retry_lines)
    assert [r.status for r in in_process.azure.keyvault.reads] == [403] * 5


@pytest.mark.parametrize(
    ("breakage", "label", "expected", "fix"),
    [
        ("access_policy_mode", "forbidden", "is not in Azure RBAC mode", "enableRbacAuthorization=true"),
        ("ForbiddenByPolicy", "forbidden", "is not in Azure RBAC mode", "access policy with secret get"),
        ("firewall", "forbidden", "the firewall of vault {vault} rejects", "egress IP or subnet"),
        ("public_network_access", "public network access disabled", "accepts no requests from public", "private"),
    ],
)
def test_forbidden_by_configuration_exits_5_at_once(
    in_process: DemoWiring, breakage: str, label: str, expected: str, fix: str
) -> None:
    vault = in_process.vault
    if breakage == "access_policy_mode":
        vault.rbac = False
    elif breakage == "ForbiddenByPolicy":
        vault.fail_next_reads(1000, status=403, inner="ForbiddenByPolicy")
    elif breakage == "firewall":
        vault.firewall_allows = False
    else:
        vault.public_network_access = False
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, **BUDGET_10)

    assert result.returncode == app.EXIT_FORBIDDEN, result.stderr
    line = failure_line(result)
    assert f"(exit 5, {label}): " in line
    assert "gave up" not in line
    assert expected.format(vault=vault.name) in line
    assert fix in next(x for x in result.stderr_lines if x.startswith("read_secret:   fix:"))
    assert result.retry_lines == []
    assert fake_time.sleeps == []
    assert [r.status for r in in_process.azure.keyvault.reads] == [403]


# -- busy or unavailable services (429/5xx): retried within the budget, honouring Retry-After -------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_busy_vault_is_retried_honouring_retry_after_then_exits_10(in_process: DemoWiring, status: int) -> None:
    in_process.vault.fail_next_reads(1000, status=status, inner="", retry_after=3)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, RETRY_BUDGET_SECONDS="10")

    assert result.returncode == app.EXIT_BUSY, result.stderr
    assert f"(exit 10, service busy/unavailable): {GAVE_UP_10}" in failure_line(result)
    assert f"vault {in_process.vault.name} answered 429/5xx" in failure_line(result)
    assert fake_time.sleeps == [3, 3, 3, 1]  # Retry-After (longer than the backoff), then what is left
    assert all(f"HTTP {status}" in line and "Retry-After 3s" in line for line in result.retry_lines)
    assert [r.status for r in in_process.azure.keyvault.reads] == [status] * 5  # no retries inside the SDK


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_token_endpoint_is_retried_honouring_retry_after_then_exits_10(
    in_process: DemoWiring, status: int
) -> None:
    in_process.azure.entra.busy_next_token_requests(1000, status=status, retry_after=3)
    fake_time = FakeTime()
    started = time.monotonic()

    result = call_main(in_process, fake_time, RETRY_BUDGET_SECONDS="10")

    assert time.monotonic() - started < 3  # the SDK itself never slept for the Retry-After
    assert result.returncode == app.EXIT_BUSY, result.stderr
    line = failure_line(result)
    assert f"(exit 10, service busy/unavailable): {GAVE_UP_10}" in line
    assert "the Entra ID token endpoint at https://login.microsoftonline.com/ answered 429/5xx" in line
    assert "detail: The service is temporarily unavailable" in result.stderr
    assert fake_time.sleeps == [3, 3, 3, 1]
    assert all(f"HTTP {status} temporarily_unavailable, Retry-After 3s" in x for x in result.retry_lines)
    assert [r.outcome for r in in_process.azure.entra.token_requests] == [f"HTTP {status}"] * 5
    assert in_process.azure.keyvault.reads == []


def test_a_busy_service_without_retry_after_is_retried_with_the_backoff(in_process: DemoWiring) -> None:
    in_process.vault.fail_next_reads(2, status=503, inner="ServiceUnavailable")
    in_process.azure.entra.busy_next_token_requests(1, status=502)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time)

    assert result.returncode == app.EXIT_OK, result.stderr
    assert fake_time.sleeps == [0.05, 0.1, 0.2]
    assert len(result.retry_lines) == 3


def test_retry_after_longer_than_the_budget_is_cut_to_the_budget(in_process: DemoWiring) -> None:
    in_process.vault.fail_next_reads(1000, status=429, inner="Throttled", retry_after=3600)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, RETRY_BUDGET_SECONDS="1")

    assert result.returncode == app.EXIT_BUSY
    assert fake_time.sleeps == [1]
    assert "gave up after 2 attempt(s) in 1.0s (RETRY_BUDGET_SECONDS=1)" in failure_line(result)


class _Headers(dict[str, str]):
    pass


class _Answer:
    def __init__(self, **headers: str) -> None:
        self.headers = _Headers(headers)


def test_retry_after_forms() -> None:
    in_90s = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)

    assert app.retry_after_seconds(_Answer(**{"retry-after": "7"})) == 7
    assert app.retry_after_seconds(_Answer(**{"retry-after-ms": "1500"})) == 1.5
    assert app.retry_after_seconds(_Answer(**{"x-ms-retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert 80 < (app.retry_after_seconds(_Answer(**{"retry-after": in_90s})) or 0) <= 90
    assert app.retry_after_seconds(_Answer(**{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0  # in the past
    assert app.retry_after_seconds(_Answer(**{"retry-after": "soon"})) is None
    assert app.retry_after_seconds(_Answer()) is None
    assert app.retry_after_seconds(None) is None


# -- AADSTS700016 right after the identity was created: replication, retried for at most a minute ---------------


def test_unknown_client_id_is_retried_for_at_most_60s_of_the_budget_then_exits_9(in_process: DemoWiring) -> None:
    in_process.azure.entra.fail_next_token_requests(1000, code=700016)
    fake_time = FakeTime()

    result = call_main(
        in_process,
        fake_time,
        RETRY_BUDGET_SECONDS="300",
        RETRY_INITIAL_DELAY_SECONDS="1",
        RETRY_MAX_DELAY_SECONDS="30",
    )

    assert result.returncode == app.EXIT_AUTH
    assert fake_time.sleeps == [1, 2, 4, 8, 16, 29]  # 60 s in all, not the 300 s budget
    line = failure_line(result)
    assert "(exit 9, unknown client id): gave up after 7 attempt(s) in 60.0s (RETRY_BUDGET_SECONDS=300; " in line
    assert "AADSTS700016 is retried for at most 60s)" in line
    assert f"no application/managed identity with client id {in_process.identity.client_id}" in line
    assert "detail: AADSTS700016: Application with identifier" in result.stderr


def test_unknown_client_id_that_replicates_within_a_minute_succeeds(in_process: DemoWiring) -> None:
    in_process.azure.entra.fail_next_token_requests(2, code=700016)

    result = call_main(in_process, FakeTime())

    assert result.returncode == app.EXIT_OK, result.stderr
    assert all("(unknown client id, AADSTS700016)" in line for line in result.retry_lines)
    assert len(result.retry_lines) == 2


def test_a_short_budget_bounds_the_unknown_client_id_window_too(in_process: DemoWiring) -> None:
    in_process.azure.entra.fail_next_token_requests(1000, code=700016)
    fake_time = FakeTime()

    result = call_main(in_process, fake_time, **BUDGET_10)

    assert result.returncode == app.EXIT_AUTH
    assert f"(exit 9, unknown client id): {GAVE_UP_10}" in failure_line(result)


# -- transport timeouts follow the budget ---------------------------------------------------------------------


def test_attempt_timeouts_are_the_defaults_cut_to_the_budget_left_with_a_floor() -> None:
    assert app.attempt_timeouts(300) == {"connection_timeout": 10, "read_timeout": 30}
    assert app.attempt_timeouts(20) == {"connection_timeout": 10, "read_timeout": 20}
    assert app.attempt_timeouts(7) == {"connection_timeout": 7, "read_timeout": 7}
    assert app.attempt_timeouts(1) == {"connection_timeout": 5, "read_timeout": 5}
    assert app.attempt_timeouts(-3) == {"connection_timeout": 5, "read_timeout": 5}


def test_every_request_of_an_attempt_gets_its_timeouts_from_the_budget_left(
    in_process: DemoWiring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both SDK pipelines (the credential's and the SecretClient's) take the per-attempt transport timeouts."""
    sent: list[tuple[str, Any]] = []
    real_request = requests.Session.request

    def spy(self: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((url.split("/")[2], kwargs.get("timeout")))
        return real_request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    in_process.azure.entra.fail_next_token_requests(1, code=70021)
    in_process.vault.fail_next_reads(1, status=503, inner="ServiceUnavailable", retry_after=2)
    fake_time = FakeTime()

    result = call_main(
        in_process, fake_time, RETRY_BUDGET_SECONDS="9", RETRY_INITIAL_DELAY_SECONDS="1", RETRY_MAX_DELAY_SECONDS="4"
    )

    assert result.returncode == app.EXIT_OK, result.stderr
    assert fake_time.sleeps == [1, 2]
    vault = in_process.vault.host
    assert sent == [
        (vault, (9, 9)),  # attempt 1 at 0 s: the challenge, then the token request fails
        (ENTRA_HOST, (9, 9)),
        (ENTRA_HOST, (8, 8)),  # attempt 2 at 1 s (challenge cached): a token, then the read answers 503
        (vault, (8, 8)),
        (vault, (6, 6)),  # attempt 3 at 3 s (token cached): the read
    ]


# -- nothing from a response body is printed -----------------------------------------------------------------


def test_a_corrupt_answer_never_quotes_the_secret(in_process: DemoWiring) -> None:
    """azure-core's DecodeError text quotes the body ("Content: ..."); the app must not print it."""

    def corrupt(response: Response) -> Response:
        if response.status != 200:
            return response
        return Response(200, response.body[:-1] + b", garbage", response.headers)

    in_process.azure.keyvault.response_filter = corrupt

    result = call_main(in_process, FakeTime())

    assert result.returncode == app.EXIT_UNEXPECTED
    assert "DecodeError (HTTP 200)" in result.stderr
    assert DEMO_SECRET_VALUE not in result.stderr


@pytest.mark.parametrize(
    ("content_type", "summary"),
    [("application/json; charset=utf-8", "DecodeError (HTTP 200)"), ("text/html", "ClientAuthenticationError")],
)
def test_a_corrupt_token_answer_never_quotes_the_access_token(
    in_process: DemoWiring, content_type: str, summary: str
) -> None:
    """A 200 from Entra whose body is not JSON: the SDK's exception text quotes the body, with the access token."""

    def corrupt(response: Response) -> Response:
        if response.status != 200:
            return response
        token = json.loads(response.body)["access_token"].encode()
        body = response.body[:-1] + b", garbage" if "json" in content_type else b"<p>" + token + b"</p>"
        return Response(200, body, {**response.headers, "Content-Type": content_type})

    in_process.azure.entra.response_filter = corrupt

    result = call_main(in_process, FakeTime())  # also fails on any 20-character piece of the issued token

    assert result.returncode == app.EXIT_AUTH
    assert f"detail: {summary}" in result.stderr
    assert "(HTTP 200)" in result.stderr
    assert "Content:" not in result.stderr
    (token,) = in_process.azure.entra.issued_tokens
    assert all(segment[:20] not in result.stderr for segment in token.split("."))


def test_the_leak_check_itself_catches_a_leak() -> None:
    leaky = RunResult(0, f"value is {DEMO_SECRET_VALUE}\n", "", 0.0)

    with pytest.raises(AssertionError, match="appeared in stdout"):
        assert_nothing_leaked(leaky, [DEMO_SECRET_VALUE])
