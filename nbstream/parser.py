"""From raw SSE bytes to renderer events and a final completion, with no I/O.

`StreamParser` joins the SSE decoder and the accumulator: feed it body bytes as they arrive
(or already-parsed chunk dicts), and call `finish()` at end of body. It is what the client
runs on every attempt, and what tests and exercises run on recorded streams.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from .accumulator import StreamAccumulator
from .errors import MalformedStreamError, TruncatedStreamError
from .events import StreamEvent
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["StreamParser", "parse_stream"]

ChunkHook = Callable[[dict[str, Any]], None]


class StreamParser:
    """One attempt's parsing state; `done` turns True at `data: [DONE]`."""

    __slots__ = ("acc", "decoder", "done", "on_chunk")

    def __init__(self, on_chunk: ChunkHook | None = None) -> None:
        self.acc = StreamAccumulator()
        self.decoder = SSEDecoder()
        self.done = False
        self.on_chunk = on_chunk

    def feed_bytes(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.decoder.decode(data):
            events += self.feed_sse(sse)
        return events

    def feed_sse(self, sse: ServerSentEvent) -> list[StreamEvent]:
        data = sse.data
        if self.done or not data.strip():
            return []  # after [DONE], or a data-less keep-alive event
        if data.startswith("[DONE]"):
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except ValueError:
            raise MalformedStreamError(
                f"the server sent an event that is not JSON: {data[:80]!r}",
                partial_text=self.acc.text,
            ) from None
        if not isinstance(chunk, dict):
            raise MalformedStreamError(
                f"the server sent JSON that is not a chunk object: {data[:80]!r}",
                partial_text=self.acc.text,
            )
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        if self.on_chunk is not None:
            self.on_chunk(chunk)
        return self.acc.feed(chunk)

    def finish(self) -> list[StreamEvent]:
        """End of body: flush the decoder, close tool calls, insist on a finish_reason."""
        events: list[StreamEvent] = []
        for sse in self.decoder.flush():
            # A half-sent last event is no chunk: the truncation check below reports it.
            with contextlib.suppress(MalformedStreamError):
                events += self.feed_sse(sse)
        events += self.acc.finish()
        if not self.acc.finished:
            raise TruncatedStreamError(
                f"the stream ended after {self.acc.chunk_count} chunks without a "
                "finish_reason: the reply is incomplete",
                partial_text=self.acc.text,
                chunks_received=self.acc.chunk_count,
            )
        return events


def parse_stream(pieces: Iterable[bytes]) -> tuple[dict[str, Any], list[StreamEvent]]:
    """Parse a whole recorded body: the final completion dict and every event, in order."""
    parser = StreamParser()
    events: list[StreamEvent] = []
    for piece in pieces:
        events += parser.feed_bytes(piece)
    events += parser.finish()
    return parser.acc.completion(), events
