"""Errors as the real API sends them: a status, headers, and `{"error": {...}}`.

Every refusal the tutor server makes goes through `APIError`, so clients (and learners
reading the body) see exactly what OpenAI would send: the four keys message, type, param
and code, and the headers the SDK's retry logic reads (`retry-after`, `retry-after-ms`,
`x-should-retry`). No bad input ever reaches a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from nbstream.types import ErrorBody

__all__ = [
    "APIError",
    "bad_request",
    "error_payload",
    "invalid_type",
    "missing_parameter",
    "model_not_found",
    "status_error",
]


class APIError(Exception):
    """A refusal with the real API's status, body and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> ErrorBody:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def response(self, request_id: str | None = None) -> Response:
        headers = dict(self.headers)
        if request_id:
            headers["x-request-id"] = request_id
        return Response(
            json.dumps({"error": self.body()}, indent=4) + "\n",
            status_code=self.status,
            headers=headers,
            media_type="application/json",
        )


def error_payload(body: ErrorBody) -> dict[str, Any]:
    """The object sent inside a stream as `data: {"error": ...}`."""
    return {"error": dict(body)}


def bad_request(message: str, param: str | None, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, param=param, code=code)


def missing_parameter(param: str) -> APIError:
    return bad_request(
        f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def invalid_type(param: str, expected: str, value: Any) -> APIError:
    got = _json_type(value)
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param,
        "invalid_type",
    )


def model_not_found(model: str) -> APIError:
    return APIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def _retry_headers(retry_after: float | None, should_retry: bool | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
        headers["retry-after-ms"] = str(round(retry_after * 1000))
    if should_retry is not None:
        headers["x-should-retry"] = "true" if should_retry else "false"
    return headers


def status_error(
    status: int, model: str, retry_after: float | None = None, should_retry: bool | None = None
) -> APIError:
    """The injected 429, 500 or 503, with the real API's wording and headers."""
    headers = _retry_headers(retry_after, should_retry)
    if status == 429:
        wait = f"{retry_after:g}s" if retry_after is not None else "a moment"
        headers.update(
            {
                "x-ratelimit-limit-requests": "3",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": wait if retry_after is not None else "1s",
            }
        )
        message = (
            f"Rate limit reached for {model} in organization org-nbstream on requests per min "
            f"(RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}. "
            "(Injected by the nbstream tutor server.)"
        )
        return APIError(429, message, type="requests", code="rate_limit_exceeded", headers=headers)
    if status == 503:
        message = "The engine is currently overloaded, please try again later"
        return APIError(503, message, type="server_error", code=None, headers=headers)
    message = (
        "The server had an error while processing your request. Sorry about that! "
        "(Injected by the nbstream tutor server.)"
    )
    return APIError(status, message, type="server_error", code=None, headers=headers)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
