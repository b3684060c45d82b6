"""Turn what the openai SDK and its HTTP stack raise into nbstream errors with one clear line.

Each message names what happened, where, and what to do: the variable to set, the server to
start, the parameter to fix. A key is never part of a message, not even the server's echo
of it in a 401 body.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import openai

from .errors import (
    EndpointError,
    NbstreamError,
    ServerStreamError,
    StreamDroppedError,
)
from .retry import RETRYABLE_STATUSES, parse_retry_after

__all__ = ["is_stream_options_rejection", "to_nbstream_error"]

_HTTP_MODULES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "anyio", "h11"})


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, openai.APITimeoutError) or "Timeout" in type(exc).__name__


def _is_transport(exc: BaseException) -> bool:
    if isinstance(exc, (openai.APIConnectionError, ssl.SSLError, ConnectionError)):
        return True
    return type(exc).__module__.split(".")[0] in _HTTP_MODULES


def _body_error(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        inner = body.get("error")
        return inner if isinstance(inner, Mapping) else body
    return {"message": str(body)} if body else {}


def to_nbstream_error(
    exc: BaseException,
    *,
    base_url: str,
    model: str | None = None,
    partial_text: str = "",
    chunks_received: int = 0,
    started: bool = False,
) -> NbstreamError:
    """Classify `exc`; `started` says whether stream bytes had already arrived."""
    if isinstance(exc, NbstreamError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, base_url=base_url, model=model)
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
        # An in-stream `data: {"error": ...}` event, as raised by the SDK's own iterator.
        body = _body_error(exc.body)
        code = body.get("code")
        return ServerStreamError(
            f"the server reported an error mid-stream: {exc.message}"
            + (f" (code {code})" if code else ""),
            code=code,
            type=body.get("type"),
            param=body.get("param"),
            body=exc.body,
            partial_text=partial_text,
            retryable=str(code) in {"server_error", "rate_limit_exceeded"},
        )
    if _is_timeout(exc):
        if started:
            return StreamDroppedError(
                f"the stream stalled after {chunks_received} chunks (no data within the "
                "read timeout)",
                partial_text=partial_text,
                chunks_received=chunks_received,
            )
        return EndpointError(
            f"{base_url} did not answer in time; check that the server is up and reachable",
            retryable=True,
        )
    if _is_transport(exc):
        if started:
            return StreamDroppedError(
                f"connection lost after {chunks_received} chunks",
                partial_text=partial_text,
                chunks_received=chunks_received,
            )
        return EndpointError(
            f"cannot connect to {base_url}: is the server running? Check OPENAI_BASE_URL, "
            "or unset it to use the built-in tutor model",
            retryable=True,
        )
    return EndpointError(f"request to {base_url} failed: {type(exc).__name__}: {exc}")


def _status_error(exc: openai.APIStatusError, *, base_url: str, model: str | None) -> EndpointError:
    status = exc.status_code
    body = _body_error(exc.body)
    message = body.get("message") if isinstance(body.get("message"), str) else ""
    code = body.get("code")
    param = body.get("param")
    headers = exc.response.headers if exc.response is not None else {}
    retry_after = parse_retry_after(headers) if status in RETRYABLE_STATUSES else None
    should = headers.get("x-should-retry") if headers else None
    retryable = status in RETRYABLE_STATUSES
    if should in ("true", "false"):
        retryable = should == "true"
    if status == 401:
        text = (
            f"authentication failed (401) at {base_url}: set OPENAI_API_KEY to a valid key "
            "for this endpoint (or unset OPENAI_BASE_URL and OPENAI_API_KEY to use the "
            "offline tutor model)"
        )
    elif status == 403:
        text = f"permission denied (403) at {base_url}: {message or 'this key may not use it'}"
    elif status == 404:
        what = f"model {model!r}" if model else "the requested resource"
        text = (
            f"{what} was not found at {base_url} (404): {message or 'unknown model'}; "
            "pick a model this endpoint serves (client.models.list() lists them)"
        )
    elif status == 400:
        where = f" [param: {param}]" if param else ""
        text = f"bad request (400): {message or 'the server rejected the request'}{where}"
    elif status == 429:
        wait = f"; the server asks to wait {retry_after:g} s" if retry_after else ""
        text = f"rate limited (429) at {base_url}: {message or 'too many requests'}{wait}"
    elif status >= 500:
        text = f"server error ({status}) at {base_url}: {message or 'try again shortly'}"
    else:
        text = f"HTTP {status} from {base_url}: {message or exc.message}"
    return EndpointError(
        text,
        status=status,
        code=str(code) if code is not None else None,
        retryable=retryable,
        retry_after=retry_after,
    )


def is_stream_options_rejection(error: NbstreamError) -> bool:
    """Some servers reject `stream_options`; then nbstream asks again without it."""
    return (
        isinstance(error, EndpointError)
        and error.status in (400, 422)
        and "stream_options" in str(error)
    )
