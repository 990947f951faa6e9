"""The budgeted retry loop: which failures are retried, for how long, with what backoff and attempt timeouts.

Azure-core's own retry policy is off (see vault.py): it retries a fixed number of times whatever the budget, and
knows nothing of the propagation errors (a new federated credential or role assignment) this loop waits out.
No Azure SDK import here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from .classify import classify
from .failures import EXIT_AUTH, EXIT_FEDERATION, EXIT_NOT_WIRED, Failure
from .settings import Settings

T = TypeVar("T")

# Transport timeouts of one attempt, per hop; cut to the budget left, never below the floor.
CONNECTION_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 30.0
MIN_TIMEOUT_SECONDS = 5.0
# Failures about the pod's identity: their message quotes the token's claims (iss, sub, aud, exp).
IDENTITY_FAILURES = (EXIT_FEDERATION, EXIT_AUTH, EXIT_NOT_WIRED)


class Failed(Exception):
    def __init__(self, code: int, lines: list[str], failure: Failure | None = None) -> None:
        super().__init__(lines[0])
        self.code = code
        self.lines = lines
        self.failure = failure  # the class it was diagnosed as


def fail(failure: Failure, detail: str, context: Mapping[str, Any], *, prefix: str = "") -> NoReturn:
    lines = [
        f"FAILED (exit {failure.code}, {failure.label}): {prefix}{failure.problem.format(**context)}",
        f"  fix: {failure.fix.format(**context)}",
    ]
    if detail:
        lines.append(f"  detail: {detail}")
    raise Failed(failure.code, lines, failure)


def attempt_timeouts(remaining: float) -> dict[str, Any]:
    """Transport timeouts of one attempt: the defaults, cut to the budget left but never below a small floor."""
    bound = max(MIN_TIMEOUT_SECONDS, remaining)
    return {
        "connection_timeout": min(CONNECTION_TIMEOUT_SECONDS, bound),
        "read_timeout": min(READ_TIMEOUT_SECONDS, bound),
    }


def backoff_delay(attempt: int, settings: Settings, rand: Callable[[], float]) -> float:
    """Exponential backoff with jitter: between half and all of min(max_delay, initial_delay * 2^(attempt-1))."""
    ceiling = min(settings.max_delay, settings.initial_delay * 2 ** min(attempt - 1, 30))
    return ceiling * (0.5 + rand() / 2)


def retry_within_budget(
    attempt_once: Callable[[dict[str, Any]], T],
    settings: Settings,
    context: dict[str, Any],
    *,
    claims: Callable[[], Mapping[str, Any]],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    rand: Callable[[], float],
    log: Callable[[str], None],
) -> T:
    """Call ``attempt_once(timeouts)`` until it returns, retrying transient failures within the budget; raise Failed.

    Every wait ends by the end of the budget (or of the failure's own retry window), and each attempt's transport
    timeouts are cut to the time left (never below MIN_TIMEOUT_SECONDS)."""
    start = clock()
    attempt = 0
    failed: Counter[Failure] = Counter()  # failed attempts per class, for classes with max_attempts
    while True:
        attempt += 1
        try:
            return attempt_once(attempt_timeouts(settings.budget - (clock() - start)))
        except Exception as exc:
            diagnosis = classify(exc)
            failure = diagnosis.failure
            if failure.code in IDENTITY_FAILURES:
                context.update(claims())
            if failure.retry_for <= 0:
                fail(failure, diagnosis.detail, context)
            elapsed = clock() - start
            window = min(settings.budget, failure.retry_for)
            remaining = window - elapsed
            failed[failure] += 1
            out_of_attempts = 0 < failure.max_attempts <= failed[failure]
            if remaining <= 0 or out_of_attempts:
                limit = _limit_reached(failure, diagnosis.reason, window, settings.budget, out_of_attempts)
                prefix = f"gave up after {attempt} attempt(s) in {elapsed:.1f}s ({limit}); the error persisted: "
                fail(failure, diagnosis.detail, context, prefix=prefix)
            # At least what the service asked for (Retry-After), never past the end of the budget.
            delay = min(remaining, max(diagnosis.retry_after or 0.0, backoff_delay(attempt, settings, rand)))
            log(
                f"retry: attempt {attempt} failed ({failure.label}, {diagnosis.reason}); attempt {attempt + 1} "
                f"in {delay:.2f}s ({elapsed:.1f}s of the {settings.budget:g}s budget used)"
            )
            sleep(delay)


def _limit_reached(failure: Failure, reason: str, window: float, budget: float, out_of_attempts: bool) -> str:
    """Which limit ended the retries, as the give-up line names it."""
    if out_of_attempts:
        return f"{failure.label}: tried at most {failure.max_attempts} times"
    limit = f"RETRY_BUDGET_SECONDS={budget:g}"
    return limit + (f"; {reason} is retried for at most {window:g}s" if window < budget else "")
