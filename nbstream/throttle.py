"""How often a live display may be redrawn, and how many bytes it may cost.

A notebook frontend re-renders a display on every update, and every update travels the
whole kernel -> server -> browser path. Three small guards keep that bounded, all checked
in the loop that consumes the stream (no timer thread, see style guide section 2):

- `Throttle`: at most one redraw per `interval`; the first one is due at once.
- `MessageWindow`: at most `limit` messages in any sliding `window` seconds.
- `ByteBudget`: live bytes may not exceed `factor` x bytes received + `slack`, so the total
  traffic for a reply stays linear in its size at any pace.

Pure: the clock is passed in (`time.monotonic` by default), so tests drive time by hand.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["ByteBudget", "MessageWindow", "Throttle"]

Clock = Callable[[], float]


class Throttle:
    """Allows an action once per `interval` seconds; the first call is always due."""

    __slots__ = ("_clock", "_last", "interval")

    def __init__(self, interval: float = 0.05, clock: Clock = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None

    def due(self) -> bool:
        """True when `interval` has passed since the last `fire()` (or none happened yet)."""
        return self._last is None or self._clock() - self._last >= self.interval

    def fire(self) -> None:
        """Record that the action happened now."""
        self._last = self._clock()

    def reset(self) -> None:
        """Make the next call due at once (e.g. after a seal, so the new tail shows quickly)."""
        self._last = None


class MessageWindow:
    """At most `limit` messages in any `window` seconds (a sliding window of send times)."""

    __slots__ = ("_clock", "_times", "limit", "window")

    def __init__(self, limit: int = 20, window: float = 1.0, clock: Clock = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: deque[float] = deque()

    def room(self) -> int:
        """How many messages may be sent now."""
        cutoff = self._clock() - self.window
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()
        return self.limit - len(times)

    def spend(self, count: int = 1) -> None:
        """Record `count` messages sent now (forced sends may overdraw the window)."""
        now = self._clock()
        self._times.extend([now] * count)


class ByteBudget:
    """Live bytes sent may not exceed `factor * received + slack`."""

    __slots__ = ("factor", "received", "sent", "slack")

    def __init__(self, factor: float = 1.8, slack: int = 16_384) -> None:
        self.factor = factor
        self.slack = slack
        self.received = 0
        self.sent = 0

    def receive(self, nbytes: int) -> None:
        """Count reply bytes that arrived (this is what earns the right to redraw)."""
        self.received += nbytes

    def allows(self, cost: int) -> bool:
        """True when sending `cost` more bytes stays within the budget."""
        return self.sent + cost <= self.factor * self.received + self.slack

    def spend(self, cost: int) -> None:
        self.sent += cost

    @property
    def limit(self) -> float:
        return self.factor * self.received + self.slack
