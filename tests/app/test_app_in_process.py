"""In-process runs of ``main()`` with an injected clock, sleep and randomness (still the real SDK and fakes)."""

from __future__ import annotations

import io
import logging
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app import read_secret as app
from tests.fakes import DEMO_SECRET_VALUE, DemoWiring, FakeAzure, RunResult
from tests.fakes.azure import assert_nothing_leaked
from tests.fakes.servers import Response


class FakeTime:
    """A clock that only moves when the program sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def in_process(fake_azure: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoWiring]:
    """The demo wiring for a call of main() in this process: proxy and CA through os.environ, loopback only."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_azure.network_env().items():
        monkeypatch.setenv(name, value)
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host in ("127.0.0.1", "localhost"), f"in-process test tried to resolve {host}"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    azure_logger = logging.getLogger("azure")
    handlers, propagate = list(azure_logger.handlers), azure_logger.propagate
    # The SDK caches Key Vault challenges per host for the process: a fresh vault name per test.
    yield fake_azure.demo(vault_name=f"kv-{uuid.uuid4().hex[:12]}")
    azure_logger.handlers[:], azure_logger.propagate = handlers, propagate


def call_main(demo: DemoWiring, fake_time: FakeTime, **overrides: str | None) -> RunResult:
    env = demo.env(**overrides)  # main() reads only its own settings from it; the SDK uses os.environ
    out, err = io.StringIO(), io.StringIO()
    code = app.main(env, sleep=fake_time.sleep, clock=fake_time.clock, rand=lambda: 1.0, stdout=out, stderr=err)
    result = RunResult(code, out.getvalue(), err.getvalue(), 0.0)
    assert_nothing_leaked(result, demo.azure.never_printed())
    return result


def test_budget_caps_the_total_wait_and_the_last_sleep_is_shortened(in_process: DemoWiring) -> None:
    in_process.azure.entra.fail_next_token_requests(1000, code=70021)
    fake_time = FakeTime()

    result = call_main(
        in_process,
        fake_time,
        RETRY_BUDGET_SECONDS="10",
        RETRY_INITIAL_DELAY_SECONDS="1",
        RETRY_MAX_DELAY_SECONDS="4",
    )

    assert result.returncode == app.EXIT_FEDERATION
    assert fake_time.sleeps == [1, 2, 4, 3]  # 1+2+4 = 7, then only the 3 s left of the budget
    assert len(result.retry_lines) == 4
    assert "gave up after 5 attempt(s) in 10.0s (RETRY_BUDGET_SECONDS=10)" in result.stderr
    assert len(in_process.azure.entra.token_requests) == 5


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


def test_the_leak_check_itself_catches_a_leak() -> None:
    leaky = RunResult(0, f"value is {DEMO_SECRET_VALUE}\n", "", 0.0)

    with pytest.raises(AssertionError, match="appeared in stdout"):
        assert_nothing_leaked(leaky, [DEMO_SECRET_VALUE])
