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

import math
import time
from collections import deque
from collections.abc import Callable

__all__ = ["ByteBudget", "MessageWindow", "Pacer", "Throttle"]

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


class Pacer:
    """The redraw policy of one live display: the three guards, plus pacing by cost.

    The consuming loop calls `received(n)` per chunk; when it returns True, the renderer
    runs one tick between `begin_tick()` (True if live redraws are allowed now) and
    `end_tick()`, asking `fits()` before each message and reporting it with `sent()`.
    After a tick, live bytes are spread out at max(`floor` B/s, 2 x the input rate), so the
    budget's slack lasts and a slow reply keeps being redrawn regularly. `fits` keeps room
    in the window for what must be sent anyway: the seals the input rate brings within a
    second (one per `seal_size` characters) and a final render.
    """

    __slots__ = ("_spent", "_tick", "began", "budget", "clock", "floor", "paced_until",
                 "seal_size", "throttle", "window")  # fmt: skip

    def __init__(
        self,
        clock: Clock = time.monotonic,
        *,
        interval: float = 0.05,
        max_messages: int = 20,
        seal_size: int = 6000,
        floor: float = 768.0,
    ) -> None:
        self.clock = clock
        self.throttle = Throttle(interval, clock)
        self.window = MessageWindow(max_messages, 1.0, clock)
        self.budget = ByteBudget()
        self.seal_size = seal_size
        self.floor = floor
        self.began: float | None = None  # when the first reply bytes arrived
        self.paced_until = 0.0
        self._tick = 0.0
        self._spent = 0

    def received(self, nbytes: int) -> bool:
        """Count reply bytes; True when a tick is due."""
        self.budget.receive(nbytes)
        if not self.throttle.due():
            return False
        if self.began is None:
            self.began = self.clock()
        return True

    def begin_tick(self) -> bool:
        """Start a tick; True when live redraws are allowed (not paced out)."""
        self._tick = self.clock()
        self._spent = self.budget.sent
        return self._tick >= self.paced_until

    def end_tick(self) -> None:
        self.throttle.fire()  # sent or not: look again after `interval`
        spent = self.budget.sent - self._spent
        if spent and self.began is not None:
            elapsed = max(self._tick - self.began, 0.25)  # no wild rates at the start
            self.paced_until = self._tick + spent / max(
                self.floor, 2 * self.budget.received / elapsed
            )

    def fits(self, messages: int, cost: int, reserve: int = 0) -> bool:
        """May `messages` live messages of `cost` bytes go now, keeping `reserve` + more room?"""
        elapsed = self.clock() - self.began if self.began is not None else 1.0
        seals = math.ceil(self.budget.received / max(elapsed, 0.05) / self.seal_size)
        room = self.window.room()
        return room >= messages + reserve + 4 + seals and self.budget.allows(cost)

    def sent(self, nbytes: int, live: bool) -> None:
        """Record a message: every one counts in the window, live ones against the budget."""
        self.window.spend()
        if live:
            self.budget.spend(nbytes)
