"""Errors nbstream raises, each with a message that says what to do next.

    NbstreamError                      catch this to catch everything nbstream raises
     ├─ StreamError                    something went wrong with a stream's bytes
     │   ├─ MalformedStreamError       bytes that are not SSE-framed JSON chunks
     │   ├─ ServerStreamError          the server sent `data: {"error": ...}` mid-stream
     │   ├─ StreamDroppedError         the connection ended early (transport error or stall)
     │   └─ TruncatedStreamError       the body ended cleanly but no finish_reason came
     ├─ EndpointError                  the request itself was refused (HTTP status, no server)
     ├─ RetryExhaustedError            every attempt of a retry policy failed
     └─ ToolError                      a tool could not be resolved, validated or run

Every error keeps the text received so far on `.partial_text` where that makes sense, so
nothing the user was shown is lost when a stream fails.
"""

from __future__ import annotations

from typing import Any


class NbstreamWarning(UserWarning):
    """Warnings nbstream emits (turned into errors in its own test suite)."""


class NbstreamError(Exception):
    """Base class of every nbstream error."""


class StreamError(NbstreamError):
    """A stream started but did not deliver a complete, well-formed reply."""

    def __init__(self, message: str, *, partial_text: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.retryable = retryable


class MalformedStreamError(StreamError):
    """The body is not a well-formed SSE stream of JSON chunks."""


class ServerStreamError(StreamError):
    """The server reported an error inside the stream (`data: {"error": {...}}`)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        type: str | None = None,
        param: str | None = None,
        body: Any = None,
        partial_text: str = "",
        retryable: bool = False,
    ) -> None:
        super().__init__(message, partial_text=partial_text, retryable=retryable)
        self.code = code
        self.type = type
        self.param = param
        self.body = body


class StreamDroppedError(StreamError):
    """The connection broke or stalled before the reply finished. Usually worth a retry."""

    def __init__(self, message: str, *, partial_text: str = "", chunks_received: int = 0) -> None:
        super().__init__(message, partial_text=partial_text, retryable=True)
        self.chunks_received = chunks_received


class TruncatedStreamError(StreamDroppedError):
    """The body ended without any finish_reason: the reply is incomplete."""


class EndpointError(NbstreamError):
    """The endpoint refused the request or could not be reached.

    `status` is the HTTP status (None when no server answered), `retryable` follows the
    usual rules (connection errors, 408, 409, 429, 5xx), `retry_after` is the server's
    hint in seconds when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after


class RetryExhaustedError(NbstreamError):
    """Every attempt failed; `last_error` is the final one and `partial_text` the best text."""

    def __init__(
        self, message: str, *, attempts: int, last_error: BaseException, partial_text: str = ""
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_error = last_error
        self.partial_text = partial_text


class ToolError(NbstreamError):
    """A tool call could not be resolved, validated or executed."""
