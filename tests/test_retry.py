"""The one retry policy (tasks/retry.py): backoff, jitter, and what is retried."""

from __future__ import annotations

import pytest

from tasks.errors import ConcurrentWriteError, TransientError
from tasks.retry import backoff_delay, retry_call


def test_delays_double_up_to_the_cap_within_the_jitter():
    for retry, nominal in ((0, 2.0), (1, 4.0), (2, 8.0), (5, 60.0), (9, 60.0)):
        for _ in range(50):
            d = backoff_delay(retry, first_delay=2.0, max_delay=60.0, jitter=0.5)
            assert nominal * 0.5 <= d <= nominal * 1.5
    assert backoff_delay(3, jitter=0) == 16.0


def test_transient_errors_are_retried_with_growing_waits_then_raised():
    slept: list[float] = []
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 3:
            raise ConcurrentWriteError("une autre écriture a déplacé la branche")
        return "ok"

    assert retry_call(flaky, retry_on=TransientError, jitter=0, sleep=slept.append) == "ok"
    assert calls == [1, 2, 3] and slept == [2.0, 4.0]

    def always(attempt: int) -> str:
        raise ConcurrentWriteError("toujours")

    with pytest.raises(ConcurrentWriteError):
        retry_call(always, retry_on=TransientError, attempts=3, sleep=slept.append)


def test_other_errors_are_not_retried():
    calls: list[int] = []

    def broken(attempt: int) -> None:
        calls.append(attempt)
        raise ValueError("autre erreur")

    with pytest.raises(ValueError):
        retry_call(broken, retry_on=TransientError, sleep=lambda s: None)
    assert calls == [1]
