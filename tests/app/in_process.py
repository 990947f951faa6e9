"""Calls of the app's main() in this process, with an injected clock, sleep and randomness (still the real SDK and
the fakes): budgets, backoff, Retry-After and give-up paths checked without spending wall-clock time."""

from __future__ import annotations

import io

from app import read_secret as app
from tests.fakes import DemoWiring, RunResult
from tests.fakes.azure import assert_nothing_leaked


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


def call_main(demo: DemoWiring, fake_time: FakeTime, **overrides: str | None) -> RunResult:
    env = demo.env(**overrides)  # main() reads only its own settings from it; the SDK uses os.environ
    out, err = io.StringIO(), io.StringIO()
    code = app.main(env, sleep=fake_time.sleep, clock=fake_time.clock, rand=lambda: 1.0, stdout=out, stderr=err)
    result = RunResult(code, out.getvalue(), err.getvalue(), 0.0)
    assert_nothing_leaked(result, demo.azure.never_printed())  # after the run: includes the tokens it was issued
    return result


def failure_line(result: RunResult) -> str:
    (line,) = [line for line in result.stderr_lines if line.startswith("read_secret: FAILED")]
    return line
