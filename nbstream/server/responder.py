"""Put events on the wire: SSE framing, pacing, and the injected faults.

`StreamResponse` is a raw ASGI response so it controls every byte and the end of the body:
each event is one `http.response.body` message (one flush), `[DONE]` is followed by the end
of the body, and a `drop` fault returns without ending the body, so the server closes the
connection mid-chunked-body and the client sees an incomplete read, as with a real outage.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Iterator
from typing import Any

from starlette.types import Receive, Scope, Send

from nbstream.server.apierrors import error_payload
from nbstream.server.events import Event
from nbstream.server.faults import FaultSpec
from nbstream.server.pacing import Schedule, StreamControl, StreamRegistry
from nbstream.sse import encode_comment, encode_data
from nbstream.types import DONE_SENTINEL, ErrorBody

__all__ = ["JSONBodyResponse", "StreamResponse", "install_log_filter", "stream_error"]

KEEPALIVE_EVERY = 15.0
_INCOMPLETE = "ASGI callable returned without completing response."
_deliberate_drop: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "nbstream_drop", default=False
)


class _DropFilter(logging.Filter):
    """Silence uvicorn's complaint about the incomplete bodies we leave on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _INCOMPLETE and _deliberate_drop.get())


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


def stream_error(spec: FaultSpec, style: str | None) -> ErrorBody:
    """The `{"error": ...}` body of an injected mid-stream error, in the dialect's style."""
    if style == "vllm":
        kind, code = ("InternalServerError", 500) if spec.retryable else ("BadRequestError", 400)
        return {
            "message": "Injected mid-stream error (vLLM style).",
            "type": kind,
            "param": None,
            "code": code,
        }
    if spec.retryable:
        return {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": "server_error",
        }
    return {
        "message": "The stream was stopped by an injected error (nbstream fault error=K).",
        "type": "invalid_request_error",
        "param": None,
        "code": "stream_error",
    }


async def _listen(receive: Receive, control: StreamControl) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            control.abort()
            return


class _Response:
    """Shared plumbing: headers, the registry, the disconnect listener, the drop marker."""

    def __init__(self, spec: FaultSpec, registry: StreamRegistry, headers: dict[str, str]) -> None:
        self.spec = spec
        self.registry = registry
        self.headers = headers

    def _raw_headers(self, content_type: str, extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
        merged = {"content-type": content_type, **self.headers, **extra}
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        control = self.registry.open()
        listener = asyncio.create_task(_listen(receive, control))
        try:
            complete = await self.run(send, control)
        finally:
            listener.cancel()
            self.registry.close(control)
        if not complete:
            _deliberate_drop.set(True)

    async def run(self, send: Send, control: StreamControl) -> bool:
        raise NotImplementedError


class StreamResponse(_Response):
    """A `text/event-stream` response for an iterator of events, with faults applied."""

    def __init__(
        self,
        events: Iterator[Event],
        schedule: Schedule,
        spec: FaultSpec,
        registry: StreamRegistry,
        headers: dict[str, str],
    ) -> None:
        super().__init__(spec, registry, headers)
        self.events = events
        self.schedule = schedule

    async def _body(self, send: Send, data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _wait(self, send: Send, control: StreamControl, due: float) -> bool:
        loop = asyncio.get_running_loop()
        while due - loop.time() > KEEPALIVE_EVERY:
            if not await control.sleep(KEEPALIVE_EVERY):
                return False
            await self._body(send, encode_comment())
        return await control.sleep(due - loop.time())

    async def _error(self, send: Send) -> None:
        style = self.spec.dialect
        body = stream_error(self.spec, style)
        if style == "llamacpp":  # old llama.cpp: a non-standard `error:` field, then [DONE]
            await self._body(send, b"error: " + json.dumps(error_payload(body)).encode() + b"\n\n")
        else:
            await self._body(send, encode_data(error_payload(body)))
        if style in ("vllm", "llamacpp"):
            await self._body(send, encode_data(DONE_SENTINEL))

    async def run(self, send: Send, control: StreamControl) -> bool:
        spec, schedule = self.spec, self.schedule
        headers = self._raw_headers(
            "text/event-stream; charset=utf-8", {"cache-control": "no-cache"}
        )
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        loop = asyncio.get_running_loop()
        schedule.begin(loop.time())
        stalled = spec.stall is None
        for event in self.events:
            if control.aborted:
                return False
            sent = schedule.sent
            if not stalled and (sent >= spec.after or event.is_done):
                stalled = True
                if not await control.sleep(spec.stall or 0.0):
                    return False
                schedule.shift(spec.stall or 0.0)
            if spec.drop is not None and (sent >= spec.drop or event.is_done):
                return False
            if spec.error is not None and (sent >= spec.error or event.is_done):
                await self._error(send)
                break
            if event.is_done and spec.no_done:
                break
            if not await self._wait(
                send, control, schedule.due(event.tokens, event.at, loop.time())
            ):
                return False
            await self._body(send, encode_data(event.data))
            schedule.sent_event(event.tokens)
            if not schedule.pace.paced and schedule.sent % 32 == 0:
                await asyncio.sleep(0)  # let other streams and the disconnect listener run
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True


class JSONBodyResponse(_Response):
    """A non-streaming completion: waits as pacing says, then sends the JSON body."""

    def __init__(
        self,
        body: dict[str, Any],
        delay: float,
        spec: FaultSpec,
        registry: StreamRegistry,
        headers: dict[str, str],
    ) -> None:
        super().__init__(spec, registry, headers)
        self.body = json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"
        self.delay = delay

    async def run(self, send: Send, control: StreamControl) -> bool:
        if not await control.sleep(self.delay + (self.spec.stall or 0.0)):
            return False
        length = {"content-length": str(len(self.body))}
        headers = self._raw_headers("application/json", length)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if self.spec.drop is not None:  # half the body, then the connection goes away
            half = self.body[: len(self.body) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            return False
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
        return True
