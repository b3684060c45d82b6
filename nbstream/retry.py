"""When to retry a stream, and how long to wait first.

The openai SDK retries only until the response headers arrive (section 5 of the protocol
reference); once bytes flow, a drop, a stall or an in-stream error just ends the stream.
`RetryPolicy` covers the whole stream: connection errors, drops, stalls, truncation,
429/408/409/5xx and retryable in-stream errors, never 400/401/403/404. Backoff is
exponential with jitter; a server's `retry-after-ms` / `Retry-After` (seconds or HTTP date)
is honoured up to `max_retry_after`, beyond which waiting is pointless and the error is final.

Pure: the random generator is passed in, the caller sleeps.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from .errors import EndpointError, NbstreamError, StreamDroppedError, StreamError

__all__ = ["NO_RETRY", "RETRYABLE_STATUSES", "RetryPolicy", "describe_retry", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to try a stream and how to space the tries.

    Args:
        max_attempts: attempts in all, the first included (1 disables retrying).
        initial_delay: backoff before the second attempt, doubled for each later one.
        max_delay: cap on the computed backoff.
        jitter: the backoff is reduced by up to this fraction, at random, to spread clients.
        max_retry_after: the longest server-requested wait honoured; longer ones end retrying.
        stall_timeout: seconds without a byte after which a stream counts as stalled.
        mode: "restart" asks again from scratch; "continue" sends the partial reply back
            and asks the model to carry on (depends on the model; see docs/retry.md).
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    stall_timeout: float = 30.0
    mode: Literal["restart", "continue"] = "restart"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (1 means no retry)")
        if self.mode not in ("restart", "continue"):
            raise ValueError('mode must be "restart" or "continue"')

    def with_options(self, **changes: object) -> RetryPolicy:
        """A copy with some settings changed, e.g. `policy.with_options(max_attempts=5)`."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def is_retryable(self, error: BaseException) -> bool:
        """True for errors a new attempt may fix."""
        if isinstance(error, EndpointError):
            return error.retryable
        if isinstance(error, StreamError):
            return error.retryable
        return False

    def next_delay(
        self, error: BaseException, attempt: int, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when not to retry.

        `attempt` counts from 1: the attempt that just failed.
        """
        if attempt >= self.max_attempts or not self.is_retryable(error):
            return None
        hint = getattr(error, "retry_after", None)
        if hint is not None and hint > 0:
            return hint if hint <= self.max_retry_after else None
        base = min(self.initial_delay * 2 ** (attempt - 1), self.max_delay)
        draw = (rng or random).random()
        return base * (1 - self.jitter * draw)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a server asks to wait: `retry-after-ms`, then `retry-after` (seconds or date)."""
    lower = {k.lower(): v for k, v in headers.items()}
    millis = lower.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    when = email.utils.mktime_tz(parsed)
    return max(0.0, when - (time.time() if now is None else now))


def describe_retry(error: BaseException) -> str:
    """A short reason for the status line: "connection lost after 37 chunks", "HTTP 429"."""
    if isinstance(error, StreamDroppedError):
        return str(error)
    if isinstance(error, EndpointError) and error.status:
        return f"HTTP {error.status}"
    if isinstance(error, NbstreamError):
        return str(error)
    return type(error).__name__
