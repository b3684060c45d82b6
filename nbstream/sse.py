"""Server-Sent Events framing: an incremental decoder for clients and an encoder for the server.

The decoder follows the WHATWG rules as the openai SDK applies them (section 1.2 of the
protocol reference): lines end in LF, CR or CRLF, split on bytes before any UTF-8 decoding;
`data:` lines of one event are joined with newlines; comments and unknown fields are dropped;
an empty line dispatches. It works in a `decode()` / `flush()` pair, like httpx's line
decoder, so a stream cut at any byte gives the same events.

Two deliberate tolerances, both for real servers: an event with no data (`event: ping`) is
skipped instead of crashing the caller, and `flush()` hands over a last event whose blank
line never came (llama.cpp has been seen to end with `data: [DONE]` and no blank line).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent", "encode_comment", "encode_data", "encode_event"]

_LF = 10
_CR = 13


class ServerSentEvent(NamedTuple):
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns a byte stream, fed in pieces of any size, into `ServerSentEvent`s."""

    __slots__ = ("_data", "_event", "_id", "_pending", "_retry", "_skip_lf")

    def __init__(self) -> None:
        self._pending = b""
        self._skip_lf = False
        self._data: list[bytes] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def decode(self, chunk: bytes) -> list[ServerSentEvent]:
        """Feed bytes; return the events completed by them."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        buf = self._pending + chunk if self._pending else chunk
        end = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
        if end < 0:
            self._pending = buf
            return []
        self._pending = buf[end + 1 :]
        if buf[end] == _CR and end == len(buf) - 1:
            # A CR at the very end may be the first half of a CRLF split across reads.
            self._skip_lf = True
        events: list[ServerSentEvent] = []
        for line in buf[: end + 1].splitlines():
            self._line(line, events)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """Call at end of stream: returns a last event whose terminating blank line never came."""
        events: list[ServerSentEvent] = []
        if self._pending:
            self._line(self._pending, events)
            self._pending = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[ServerSentEvent]) -> None:
        if not line:
            if self._data:
                data = b"\n".join(self._data).decode("utf-8", errors="replace")
                events.append(ServerSentEvent(data, self._event, self._id, self._retry))
            self._data = []
            self._event = None
            self._retry = None
            return
        if line[:6] == b"data: ":
            self._data.append(line[6:])
            return
        if line[0] == 0x3A:  # ":" starts a comment (keep-alives, OpenRouter notices)
            return
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value.decode("utf-8", errors="replace")
        elif field == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", errors="replace")
        elif field == b"retry" and value.isdigit():
            self._retry = int(value)


def encode_data(payload: Any) -> bytes:
    """One `data:` event holding compact, single-line JSON (or a raw string such as `[DONE]`)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return b"data: " + text.encode("utf-8") + b"\n\n"


def encode_event(name: str, payload: Any) -> bytes:
    """A named event; the Chat Completions protocol itself never needs one."""
    return b"event: " + name.encode("utf-8") + b"\n" + encode_data(payload)


def encode_comment(text: str = "keep-alive") -> bytes:
    """A comment line, ignored by every client: the safe way to keep an idle stream open."""
    return b": " + text.encode("utf-8") + b"\n\n"
