"""The one retry policy of cahier: exponential backoff with jitter.

Prefect tasks take it as task options (:func:`flows.runs.transient_retries`: Prefect's
own ``exponential_backoff`` and ``retry_jitter_factor``); code outside a task calls
:func:`retry_call`. Delays double from ``first_delay`` seconds up to ``max_delay``, each
drawn within ± ``jitter`` of its value, so that writers that failed together do not
retry together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ATTEMPTS", "FIRST_DELAY_S", "JITTER", "backoff_delay", "retry_call"]

T = TypeVar("T")

#: Attempts in all (the first one and the retries) of a transient failure.
ATTEMPTS = 5
#: Delay before the first retry, in seconds (doubled at each retry).
FIRST_DELAY_S = 2.0
#: Relative spread of each delay (0.5: between half and one and a half times the delay).
JITTER = 0.5


def backoff_delay(
    retry: int, first_delay: float = FIRST_DELAY_S, max_delay: float = 60.0, jitter: float = JITTER
) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry):
    ``first_delay × 2^retry``, capped at ``max_delay``, spread by ± ``jitter``."""
    delay = min(max_delay, first_delay * 2**retry)
    return max(0.0, delay * random.uniform(1 - jitter, 1 + jitter))


def retry_call(
    fn: Callable[[int], T],
    *,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    attempts: int = ATTEMPTS,
    first_delay: float = FIRST_DELAY_S,
    max_delay: float = 60.0,
    jitter: float = JITTER,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn(attempt)`` (attempt 1, 2, …) until it returns, retrying only on ``retry_on``.

    Raises:
        The last ``retry_on`` error after ``attempts`` attempts; any other error at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn(attempt)
        except retry_on:
            if attempt == attempts:
                raise
        sleep(backoff_delay(attempt - 1, first_delay, max_delay, jitter))
    raise AssertionError("unreachable")  # attempts >= 1
