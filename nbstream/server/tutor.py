"""The tutor: a deterministic teaching model that turns a request into replies.

`compose()` decides, for one choice of one request, what the model "says": tool calls when
tools are offered and the message calls for one, a reply quoting tool results when they come
back, the `/tokens N` and `/echo` commands, JSON for `response_format`, or a scripted answer.
It returns lazy token iterators; the protocol framing happens in `completion.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbstream.server.answers import answer, answer_data
from nbstream.server.longdoc import parse_tokens_command, token_document
from nbstream.server.params import ChatRequest
from nbstream.server.tokens import content_text, split_tokens
from nbstream.server.toolcalls import PlannedCall, plan_tool_calls, tool_result_reply
from nbstream.splice import CONTINUE_INSTRUCTION

__all__ = ["Reply", "compose", "last_user_text"]

# Openers vary the choices of an `n>1` request (and change with `seed`); "" keeps the answer.
OPENERS = ("", "Sure! ", "Happy to help. ", "Here you go. ", "Of course. ")
_ECHO = re.compile(r"^\s*/echo(?: |\n)(.*)$", re.S)


@dataclass
class Reply:
    """What one choice says: content tokens (lazy), or tool calls to stream."""

    tokens: Iterator[str] = field(default_factory=lambda: iter(()))
    tool_calls: list[PlannedCall] = field(default_factory=list)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (or of the last message, if no user spoke)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return content_text(messages[-1].get("content")) if messages else ""


def _opener(req: ChatRequest, index: int, prompt: str) -> str:
    if req.temperature == 0 or (req.seed is None and index == 0):
        return ""
    digest = hashlib.sha256(f"{req.seed}|{index}|{prompt}".encode()).digest()
    return OPENERS[digest[0] % len(OPENERS)]


def _instance(schema: Mapping[str, Any], data: Mapping[str, Any], key: str = "") -> Any:
    """A value valid against a (simple) JSON schema, filled from `data` where names match."""
    if key and key in data:
        return data[key]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        return {k: _instance(v if isinstance(v, dict) else {}, data, k) for k, v in props.items()}
    if kind == "array":
        items = schema.get("items")
        return [_instance(items if isinstance(items, dict) else {}, data)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return str(data.get("answer", f"example {key}".strip()))


def _json_text(req: ChatRequest, prompt: str) -> str:
    data = answer_data(prompt)
    if req.json_mode == "json_schema":
        schema = (req.response_format or {}).get("json_schema", {}).get("schema") or {}
        data = _instance(schema, data)
    return json.dumps(data, indent=2, ensure_ascii=False)


def _continuation(req: ChatRequest, index: int) -> Reply | None:
    """nbstream's "continue" retry: carry on after the partial reply, a word early.

    Real models often repeat the last few words when asked to continue; the tutor does the
    same on purpose, so a client's splicing of the overlap can be seen and tested.
    """
    messages = req.messages
    if len(messages) < 3 or content_text(messages[-1].get("content")) != CONTINUE_INSTRUCTION:
        return None
    if messages[-2].get("role") != "assistant":
        return None
    partial = content_text(messages[-2].get("content"))
    original = compose(dataclasses.replace(req, messages=messages[:-2]), index)
    if original.tool_calls:
        return None
    full = "".join(original.tokens)
    if not full.startswith(partial):
        return Reply(
            iter(
                split_tokens(
                    "I cannot find where that reply stopped, so here it is "
                    "again in full:\n\n" + full
                )
            )
        )
    start = partial.rfind(" ", 0, max(len(partial) - 3, 0)) + 1  # a word (3+ chars) early
    return Reply(iter(split_tokens(full[start:])))


def compose(req: ChatRequest, index: int = 0) -> Reply:
    """The reply of choice `index` to `req`; the same request always gives the same reply."""
    continued = _continuation(req, index)
    if continued is not None:
        return continued
    after_tools = tool_result_reply(req.messages)
    if after_tools is not None:
        return Reply(iter(split_tokens(after_tools)))
    prompt = last_user_text(req.messages)
    calls = plan_tool_calls(req.tools, req.tool_choice, prompt, req.parallel_tool_calls)
    if calls:
        return Reply(tool_calls=calls)
    command = parse_tokens_command(prompt)
    if command is not None:
        return Reply(token_document(*command))
    echo = _ECHO.match(prompt)
    if echo is not None:
        return Reply(iter(split_tokens(echo.group(1))))
    if req.json_mode:
        return Reply(iter(split_tokens(_json_text(req, prompt))))
    return Reply(iter(split_tokens(_opener(req, index, prompt) + answer(prompt))))
