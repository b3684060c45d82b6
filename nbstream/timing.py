"""Stream timing: time to first token, generation speed and total time.

The clock is passed in (`time.perf_counter` by default) so tests can drive it. Tokens per
second is measured over the generation only (first token to last token), the figure
providers quote, not over the wait for the first token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Stopwatch", "StreamTiming"]


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """How long a stream took. Times are seconds; None where the stream never got that far."""

    time_to_first_token: float | None
    total: float
    generation: float | None
    completion_tokens: int
    tokens_per_second: float | None

    def summary(self) -> str:
        """A short human line, e.g. `TTFT 0.21 s · 48.3 tok/s · 2.71 s`."""
        parts = []
        if self.time_to_first_token is not None:
            parts.append(f"TTFT {self.time_to_first_token:.2f} s")
        if self.tokens_per_second is not None:
            parts.append(f"{self.tokens_per_second:.1f} tok/s")
        parts.append(f"{self.total:.2f} s")
        return " · ".join(parts)


class Stopwatch:
    """Marks the request start, the first and last token, and the end."""

    __slots__ = ("_clock", "_first", "_last", "_start", "_tokens")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._start = clock()
        self._first: float | None = None
        self._last: float | None = None
        self._tokens = 0

    def restart(self) -> None:
        """A retried stream starts over: the first-token mark is reset, the start is kept."""
        self._first = None
        self._last = None
        self._tokens = 0

    def token(self) -> None:
        """Call for each delta that carries generated text (content, refusal, tool arguments)."""
        now = self._clock()
        if self._first is None:
            self._first = now
        self._last = now
        self._tokens += 1

    @property
    def started(self) -> bool:
        return self._first is not None

    def stop(self, completion_tokens: int | None = None) -> StreamTiming:
        """Freeze the figures; `completion_tokens` from usage beats the counted deltas."""
        end = self._clock()
        tokens = completion_tokens if completion_tokens is not None else self._tokens
        ttft = None if self._first is None else self._first - self._start
        generation = None
        rate = None
        if self._first is not None and self._last is not None:
            generation = self._last - self._first
            if generation > 0 and tokens > 1:
                # n tokens span n-1 gaps between the first and the last one.
                rate = (tokens - 1) / generation
        return StreamTiming(ttft, end - self._start, generation, tokens, rate)
