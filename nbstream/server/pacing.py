"""Pacing and cancellation: when each event may go out, and how a stream is stopped early.

Pacing follows a schedule rather than sleeping a fixed gap after each send, so the average
rate is exact however long each write takes: the first chunk goes out after the time to
first token, and each token-carrying chunk at `ttft + tokens_before / tps`. A stall moves
the whole schedule later instead of causing a burst afterwards.

Every sleep is interruptible: `StreamControl.abort()` wakes it at once, which is how a
client disconnect or `TutorServer.stop()` ends in-flight streams quickly.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

__all__ = ["Pace", "Schedule", "StreamControl", "StreamRegistry"]


@dataclass(frozen=True)
class Pace:
    """Tokens per second (None or 0: as fast as possible) and time to first token (s)."""

    tps: float | None = None
    ttft: float = 0.0

    @property
    def paced(self) -> bool:
        return bool(self.tps) or self.ttft > 0


class StreamControl:
    """One stream's abort switch, with a sleep that the switch interrupts."""

    __slots__ = ("_waiter", "aborted")

    def __init__(self) -> None:
        self.aborted = False
        self._waiter: asyncio.Future[None] | None = None

    def abort(self) -> None:
        """Stop the stream (call on the stream's own event loop)."""
        self.aborted = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def sleep(self, seconds: float) -> bool:
        """Sleep; return False (early) if the stream was aborted."""
        if self.aborted:
            return False
        if seconds <= 0:
            return True
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        handle = loop.call_later(seconds, _wake, self._waiter)
        try:
            await self._waiter
        finally:
            handle.cancel()
            self._waiter = None
        return not self.aborted


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class StreamRegistry:
    """The server's open streams, so `stop()` (from another thread) can abort them all."""

    def __init__(self) -> None:
        self._open: dict[StreamControl, asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        self.closing = False

    def open(self) -> StreamControl:
        control = StreamControl()
        with self._lock:
            if self.closing:
                control.aborted = True
            self._open[control] = asyncio.get_running_loop()
        return control

    def close(self, control: StreamControl) -> None:
        with self._lock:
            self._open.pop(control, None)

    def abort_all(self) -> None:
        """Thread-safe: abort every open stream and refuse to stream from now on."""
        with self._lock:
            self.closing = True
            items = list(self._open.items())
        for control, loop in items:
            if not loop.is_closed():
                loop.call_soon_threadsafe(control.abort)

    def __len__(self) -> int:
        return len(self._open)


class Schedule:
    """When the next event is due, following `Pace` (or absolute replay times)."""

    def __init__(self, pace: Pace, speed: float | None = None) -> None:
        self.pace = pace
        self.speed = 1.0 if speed is None else speed
        self.start = self.base = 0.0
        self.tokens = 0
        self.sent = 0

    def begin(self, now: float) -> None:
        """Start the clock: call when the response headers go out."""
        self.start = now
        self.base = now + self.pace.ttft

    def due(self, tokens: int, at: float | None, now: float) -> float:
        """The loop time at which an event carrying `tokens` (or due `at`) may be sent."""
        if at is not None:
            return self.start + at / self.speed if self.speed > 0 else now
        if tokens and self.pace.tps:
            return self.base + self.tokens / self.pace.tps
        return self.base if self.sent == 0 else now

    def sent_event(self, tokens: int) -> None:
        self.tokens += tokens
        self.sent += 1

    def shift(self, seconds: float) -> None:
        """Move the schedule later, after a stall."""
        self.base += seconds
        self.start += seconds
