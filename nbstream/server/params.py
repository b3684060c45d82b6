"""Validate a Chat Completions request body the way the real API does.

Bad input must come back as a 400 naming the offending `param`, never as a 500: learners
send malformed requests all the time, and the error body is part of what they learn from.
The messages mimic OpenAI's wording; `ChatRequest` is the checked, normalised result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbstream.server.apierrors import APIError, bad_request, invalid_type, missing_parameter
from nbstream.server.toolschema import validate_tool_choice, validate_tools

__all__ = ["ChatRequest", "parse_body", "validate_request"]

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_N = 128


@dataclass(frozen=True)
class ChatRequest:
    """A request that passed validation, with defaults filled in."""

    body: dict[str, Any]
    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    temperature: float | None = None
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str = "none"  # "none", "auto", "required" or a function name
    parallel_tool_calls: bool = True
    response_format: dict[str, Any] | None = None
    logprobs: bool = False
    top_logprobs: int = 0

    @property
    def named_tool(self) -> str | None:
        return None if self.tool_choice in ("none", "auto", "required") else self.tool_choice

    @property
    def json_mode(self) -> str | None:
        kind = (self.response_format or {}).get("type")
        return kind if kind in ("json_object", "json_schema") else None


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode the JSON body; anything but a JSON object is a 400."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict):
        raise APIError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
            code=None,
        )
    return body


def _int(body: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(key, "an integer", value)
    if value < low:
        raise bad_request(
            f"Invalid '{key}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            key,
            "integer_below_min_value",
        )
    if value > high:
        raise bad_request(
            f"Invalid '{key}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            key,
            "integer_above_max_value",
        )
    return value


def _float(body: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid_type(key, "a decimal", value)
    if not low <= value <= high:
        below = value < low
        side, bound = (
            ("below minimum", f">= {low:g}") if below else ("above maximum", f"<= {high:g}")
        )
        raise bad_request(
            f"Invalid '{key}': decimal {side} value. Expected a value {bound}, "
            f"but got {value} instead.",
            key,
            "decimal_below_min_value" if below else "decimal_above_max_value",
        )
    return float(value)


def _bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(key, "a boolean", value)
    return value


def _content_ok(content: Any) -> bool:
    if content is None or isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(part, dict) and isinstance(part.get("type"), str) for part in content
    )


def _tool_calls(calls: Any, where: str) -> list[dict[str, Any]]:
    """A message's `tool_calls`: a list of {id, function: {name, arguments}}."""
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise invalid_type(where, "an array", calls)
    for i, call in enumerate(calls):
        if not isinstance(call, dict):
            raise invalid_type(f"{where}[{i}]", "an object", call)
        function = call.get("function")
        if not isinstance(call.get("id"), str):
            raise invalid_type(f"{where}[{i}].id", "a string", call.get("id"))
        if not isinstance(function, dict):
            raise invalid_type(f"{where}[{i}].function", "an object", function)
        for key in ("name", "arguments"):
            if not isinstance(function.get(key), str):
                raise invalid_type(f"{where}[{i}].function.{key}", "a string", function.get(key))
    return calls


def _messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body:
        raise missing_parameter("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid_type("messages", "an array", messages)
    if not messages:
        raise bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "messages",
            "empty_array",
        )
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid_type(where, "an object", message)
        role = message.get("role")
        if role is None:
            raise missing_parameter(f"{where}.role")
        if role not in ROLES:
            supported = ", ".join(f"'{r}'" for r in ROLES)
            raise bad_request(
                f"Invalid value: {json.dumps(role)}. Supported values are: {supported}.",
                f"{where}.role",
            )
        if not _content_ok(message.get("content")):
            raise invalid_type(f"{where}.content", "a string or an array of parts", message)
        calls = _tool_calls(message.get("tool_calls"), f"{where}.tool_calls")
        if role == "assistant":
            open_calls = {c["id"] for c in calls}
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in open_calls:
                raise bad_request(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"{where}.role",
                    None,
                )
        else:
            if role == "user" and message.get("content") is None:
                raise missing_parameter(f"{where}.content")
            open_calls = set()
    return messages


def _stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise invalid_type("stop", "a string or an array of strings", stop)
    if len(stop) > 4:
        raise bad_request(
            f"Invalid 'stop': array too long. Expected an array with maximum length 4, "
            f"but got an array with length {len(stop)} instead.",
            "stop",
            "array_above_max_length",
        )
    return tuple(s for s in stop if s)


def _response_format(
    body: Mapping[str, Any], messages: list[dict[str, Any]]
) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise invalid_type("response_format", "an object", fmt)
    kind = fmt.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise bad_request(
            f"Invalid value: {json.dumps(kind)}. Supported values are: 'text', 'json_object', "
            "and 'json_schema'.",
            "response_format.type",
        )
    if kind == "json_schema":
        schema = fmt.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
            raise missing_parameter("response_format.json_schema.name")
        if not isinstance(schema.get("schema", {}), dict):
            raise invalid_type("response_format.json_schema.schema", "an object", schema)
    if kind == "json_object" and "json" not in json.dumps(messages).lower():
        raise bad_request(
            "'messages' must contain the word 'json' in some form, to use 'response_format' "
            "of type 'json_object'.",
            "messages",
            None,
        )
    return fmt


def validate_request(body: dict[str, Any]) -> ChatRequest:
    """Check every parameter the tutor honours; raise `APIError` (400) naming the param."""
    model = body.get("model")
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid_type("model", "a non-empty string", model)
    messages = _messages(body)
    stream = _bool(body, "stream", False)
    options = body.get("stream_options")
    if options is not None and not stream:
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            None,
        )
    if options is not None and not isinstance(options, dict):
        raise invalid_type("stream_options", "an object", options)
    include_usage = _bool(options or {}, "include_usage", False)
    max_completion = _int(body, "max_completion_tokens", 1, 10_000_000)
    max_tokens = _int(body, "max_tokens", 1, 10_000_000)
    n = _int(body, "n", 1, MAX_N) or 1
    _float(body, "top_p", 0.0, 1.0)
    _float(body, "presence_penalty", -2.0, 2.0)
    _float(body, "frequency_penalty", -2.0, 2.0)
    logprobs = _bool(body, "logprobs", False)
    top_logprobs = _int(body, "top_logprobs", 0, 20)
    if top_logprobs is not None and not logprobs:
        raise bad_request(
            "Invalid value for 'logprobs': must be true when 'top_logprobs' is specified.",
            "logprobs",
        )
    tools = validate_tools(body.get("tools"))
    return ChatRequest(
        body=body,
        model=model,
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        max_tokens=max_completion if max_completion is not None else max_tokens,
        n=n,
        stop=_stop(body),
        seed=_int(body, "seed", -(2**63), 2**63 - 1),
        temperature=_float(body, "temperature", 0.0, 2.0),
        tools=tools,
        tool_choice=validate_tool_choice(body.get("tool_choice"), tools),
        parallel_tool_calls=_bool(body, "parallel_tool_calls", True),
        response_format=_response_format(body, messages),
        logprobs=logprobs,
        top_logprobs=top_logprobs or 0,
    )
