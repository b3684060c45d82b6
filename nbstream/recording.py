"""Recorded streams: one JSON Lines file per stream, with the time of every event.

A recording lets a notebook, a test or a bug report replay exactly what a server sent,
quirks and pauses included, without that server. The format is deliberately plain so it
can be read and edited by hand::

    {"nbstream_recording": 1, "model": "tutor", "created": 1735689600}
    {"t": 0.212, "data": {"id": "chatcmpl-...", "object": "chat.completion.chunk", ...}}
    {"t": 0.247, "data": {"error": {"message": "...", "type": "server_error", ...}}}
    {"t": 0.251, "data": "[DONE]"}

`t` is seconds since the request started. This module is pure stdlib and imports nothing
else from nbstream, so the client side and the server side can both use it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FORMAT_VERSION",
    "Recording",
    "RecordingError",
    "RecordingEvent",
    "RecordingWriter",
    "load_recording",
    "save_recording",
]

FORMAT_VERSION = 1
_HEADER_KEY = "nbstream_recording"


class RecordingError(ValueError):
    """A file is not a readable nbstream recording."""


@dataclass(frozen=True)
class RecordingEvent:
    """One SSE `data:` payload: a chunk dict (or an error dict) or the string `[DONE]`."""

    t: float
    data: dict[str, Any] | str

    def to_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 6), "data": self.data}


@dataclass
class Recording:
    """A whole stream: the header fields plus the events in the order they arrived."""

    model: str = ""
    created: int = 0
    events: list[RecordingEvent] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        return {
            _HEADER_KEY: FORMAT_VERSION,
            "model": self.model,
            "created": self.created,
            **self.extra,
        }

    @property
    def duration(self) -> float:
        """Seconds from the request to the last event."""
        return self.events[-1].t if self.events else 0.0

    def chunks(self) -> list[dict[str, Any]]:
        """The JSON payloads, without `[DONE]`."""
        return [e.data for e in self.events if isinstance(e.data, dict)]


def _parse_event(obj: Any, where: str) -> RecordingEvent:
    if not isinstance(obj, dict) or "data" not in obj:
        raise RecordingError(f"{where}: expected an object with 't' and 'data'")
    t, data = obj.get("t", 0.0), obj["data"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        raise RecordingError(f"{where}: 't' must be a non-negative number of seconds")
    if not isinstance(data, (dict, str)):
        raise RecordingError(f"{where}: 'data' must be a chunk object or a string")
    return RecordingEvent(float(t), data)


def parse_recording(lines: Iterable[str], name: str = "<recording>") -> Recording:
    """Parse the JSON Lines text of a recording; raise RecordingError with a line number."""
    recording: Recording | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{where}: not JSON ({exc.msg})") from exc
        if recording is None:
            if not isinstance(obj, dict) or obj.get(_HEADER_KEY) != FORMAT_VERSION:
                raise RecordingError(f"{where}: missing header {{{_HEADER_KEY!r}: 1, ...}}")
            extra = {k: v for k, v in obj.items() if k not in (_HEADER_KEY, "model", "created")}
            created = obj.get("created", 0)
            recording = Recording(
                str(obj.get("model", "")), created if isinstance(created, int) else 0, [], extra
            )
            continue
        recording.events.append(_parse_event(obj, where))
    if recording is None:
        raise RecordingError(f"{name}: empty file, no recording header")
    return recording


def load_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording from a `.jsonl` file."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        return parse_recording(fh, path.name)


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def save_recording(recording: Recording, path: str | os.PathLike[str]) -> Path:
    """Write a whole recording at once (header first, one event a line)."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(_dump(recording.header()))
        fh.writelines(_dump(event.to_json()) for event in recording.events)
    return path


class RecordingWriter:
    """Appends events to a recording file as they arrive, so a crash keeps what came.

    Use it as a context manager; call `start()` (or let the first `write()` do it) when the
    request is sent, so `t` measures from there. The clock can be injected for tests.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        model: str = "",
        created: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.recording = Recording(model, created)
        self._clock = clock
        self._t0: float | None = None
        self._fh: IO[str] | None = None

    def start(self) -> None:
        """Open the file, write the header and start the clock."""
        if self._fh is None:
            self._fh = self.path.open("w", encoding="utf-8")
            self._fh.write(_dump(self.recording.header()))
            self._fh.flush()
        if self._t0 is None:
            self._t0 = self._clock()

    def write(self, data: dict[str, Any] | str, t: float | None = None) -> RecordingEvent:
        """Append one event; `t` defaults to the time since `start()`."""
        self.start()
        assert self._fh is not None and self._t0 is not None
        event = RecordingEvent(self._clock() - self._t0 if t is None else t, data)
        self.recording.events.append(event)
        self._fh.write(_dump(event.to_json()))
        self._fh.flush()
        return event

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[RecordingEvent]:
        return iter(self.recording.events)
