"""Accumulate `chat.completion.chunk`s into the final `chat.completion`, tolerating real servers.

Pure and I/O-free: feed it parsed chunks (plain dicts from raw SSE, or the SDK's
`ChatCompletionChunk` objects) and it returns renderer events for each one; `completion()`
builds the final completion dict once at the end.

The merge rules follow section 3 and 4.5 of the protocol reference rather than the SDK's
generic "concatenate every string" merge, so servers that deviate (section 7) still give the
right message:

* `role`, tool call `id`, `type` and `name` are set once, never concatenated (Ollama repeats
  the role on every chunk, LiteLLM and SGLang repeat tool ids);
* choices and tool calls are keyed by `index`, in any order (n > 1, index 1 first);
* `choices: []` or `null` (usage-only chunks) is fine, and the last non-null usage wins, with
  Groq's `x_groq.usage` as a fallback;
* a chunk without `id`/`model` (Azure's prelude) does not blank them out;
* content and finish_reason in one chunk (vLLM, Ollama) is just two things in one chunk;
* `data: {"error": ...}` raises `ServerStreamError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import MalformedStreamError, ServerStreamError
from .events import (
    ChoiceFinished,
    ContentDelta,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReceived,
)

__all__ = ["StreamAccumulator"]

_KNOWN_CHUNK_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint"}
    | {"service_tier", "obfuscation"}
)
_KNOWN_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs"})
_REASONING_KEYS = ("reasoning_content", "reasoning")
_RETRYABLE_CODES = frozenset({"server_error", "rate_limit_exceeded", "overloaded", "timeout"})


class _ToolCall:
    __slots__ = ("arguments", "id", "index", "name", "type")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id = ""
        self.type = "function"
        self.name = ""
        self.arguments = ""


class _Choice:
    __slots__ = (
        "content",
        "content_seen",
        "extra",
        "finish_reason",
        "index",
        "logprobs_content",
        "logprobs_refusal",
        "open_tool",
        "reasoning",
        "reasoning_key",
        "refusal",
        "role",
        "tool_calls",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: list[str] = []
        self.content_seen = False
        self.refusal: list[str] = []
        self.reasoning: list[str] = []
        self.reasoning_key = "reasoning_content"
        self.tool_calls: dict[int, _ToolCall] = {}
        self.open_tool: _ToolCall | None = None
        self.finish_reason: str | None = None
        self.logprobs_content: list[Any] | None = None
        self.logprobs_refusal: list[Any] | None = None
        self.extra: dict[str, Any] = {}


class StreamAccumulator:
    """Feed chunks in stream order; read `completion()` (or `text`) at any time."""

    def __init__(self) -> None:
        self.id = ""
        self.created = 0
        self.model = ""
        self.system_fingerprint: str | None = None
        self.service_tier: str | None = None
        self.usage: dict[str, Any] | None = None
        self.extra: dict[str, Any] = {}
        self.chunk_count = 0
        self.done_received = False
        self._choices: dict[int, _Choice] = {}

    # -- feeding -------------------------------------------------------------------------

    def feed(self, chunk: Any) -> list[StreamEvent]:
        """Merge one chunk; return the events it produced, in order."""
        if not isinstance(chunk, Mapping):
            chunk = _as_mapping(chunk)
        error = chunk.get("error")
        if error or chunk.get("object") == "error":
            raise self._server_error(error if error else chunk)
        self.chunk_count += 1
        if not self.id:
            self.id = chunk.get("id") or ""
        if not self.created:
            self.created = chunk.get("created") or 0
        if not self.model:
            self.model = chunk.get("model") or ""
        fingerprint = chunk.get("system_fingerprint")
        if fingerprint:
            self.system_fingerprint = fingerprint
        tier = chunk.get("service_tier")
        if tier:
            self.service_tier = tier
        for key in chunk.keys() - _KNOWN_CHUNK_KEYS:
            self.extra[key] = chunk[key]
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        if choices:
            for choice in choices:
                self._feed_choice(choice, events)
        usage = chunk.get("usage")
        if usage:
            self.usage = usage
            events.append(UsageReceived(usage))
        return events

    def _feed_choice(self, data: Mapping[str, Any], events: list[StreamEvent]) -> None:
        index = data.get("index") or 0
        choice = self._choices.get(index)
        if choice is None:
            choice = self._choices[index] = _Choice(index)
        delta = data.get("delta")
        if delta:
            role = delta.get("role")
            if role and choice.role is None:
                choice.role = role
            content = delta.get("content")
            if content is not None:
                choice.content_seen = True
                if content:
                    choice.content.append(content)
                    events.append(ContentDelta(index, content))
            refusal = delta.get("refusal")
            if refusal:
                choice.refusal.append(refusal)
                events.append(RefusalDelta(index, refusal))
            for key in _REASONING_KEYS:
                text = delta.get(key)
                if text:
                    choice.reasoning_key = key
                    choice.reasoning.append(text)
                    events.append(ReasoningDelta(index, text))
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                for fragment in tool_calls:
                    self._feed_tool_fragment(choice, fragment, events)
        logprobs = data.get("logprobs")
        if logprobs:
            self._feed_logprobs(choice, logprobs)
        for key in data.keys() - _KNOWN_CHOICE_KEYS:
            if data[key] is not None:
                choice.extra[key] = data[key]
        finish_reason = data.get("finish_reason")
        if finish_reason:
            first = choice.finish_reason is None
            choice.finish_reason = finish_reason
            if first:
                self._close_tool(choice, events)
                events.append(ChoiceFinished(index, finish_reason))

    def _feed_tool_fragment(
        self, choice: _Choice, fragment: Mapping[str, Any], events: list[StreamEvent]
    ) -> None:
        function = fragment.get("function") or {}
        tool_index = fragment.get("index")
        if tool_index is None:  # a few servers omit it: match by id, else continue or open one
            tool_index = _index_without_index(choice, fragment.get("id"))
        tool = choice.tool_calls.get(tool_index)
        if tool is None:
            self._close_tool(choice, events)
            tool = choice.tool_calls[tool_index] = _ToolCall(tool_index)
            tool.id = fragment.get("id") or ""
            tool.type = fragment.get("type") or "function"
            tool.name = function.get("name") or ""
            choice.open_tool = tool
            events.append(ToolCallStarted(choice.index, tool_index, tool.id, tool.name))
        else:
            if not tool.id:
                tool.id = fragment.get("id") or ""
            if not tool.name:
                tool.name = function.get("name") or ""
        arguments = function.get("arguments")
        if arguments:
            tool.arguments += arguments
            events.append(
                ToolCallArgumentsDelta(choice.index, tool_index, arguments, tool.arguments)
            )

    @staticmethod
    def _close_tool(choice: _Choice, events: list[StreamEvent]) -> None:
        tool = choice.open_tool
        if tool is not None:
            choice.open_tool = None
            events.append(
                ToolCallDone(choice.index, tool.index, tool.id, tool.name, tool.arguments)
            )

    @staticmethod
    def _feed_logprobs(choice: _Choice, logprobs: Mapping[str, Any]) -> None:
        content = logprobs.get("content")
        if content is not None:
            if choice.logprobs_content is None:
                choice.logprobs_content = []
            choice.logprobs_content.extend(content)
        refusal = logprobs.get("refusal")
        if refusal is not None:
            if choice.logprobs_refusal is None:
                choice.logprobs_refusal = []
            choice.logprobs_refusal.extend(refusal)

    def _server_error(self, error: Any) -> ServerStreamError:
        body = error if isinstance(error, Mapping) else {"message": str(error)}
        message = body.get("message")
        if not isinstance(message, str) or not message:
            message = "the server reported an error during streaming"
        code = body.get("code")
        retryable = str(code) in _RETRYABLE_CODES or body.get("type") in _RETRYABLE_CODES
        return ServerStreamError(
            message,
            code=code,
            type=body.get("type"),
            param=body.get("param"),
            body=error,
            partial_text=self.text,
            retryable=retryable,
        )

    # -- ending --------------------------------------------------------------------------

    def finish(self) -> list[StreamEvent]:
        """Call once at end of stream: closes tool calls of choices that never finished."""
        events: list[StreamEvent] = []
        for choice in self._choices.values():
            self._close_tool(choice, events)
        return events

    @property
    def finished(self) -> bool:
        """True when every choice seen so far has a finish_reason."""
        return bool(self._choices) and all(c.finish_reason for c in self._choices.values())

    @property
    def text(self) -> str:
        """The reply text of choice 0 so far."""
        choice = self._choices.get(0)
        return "".join(choice.content) if choice else ""

    def choice_text(self, index: int) -> str:
        choice = self._choices.get(index)
        return "".join(choice.content) if choice else ""

    @property
    def choice_indices(self) -> list[int]:
        return sorted(self._choices)

    @property
    def final_usage(self) -> dict[str, Any] | None:
        """Usage from the usage chunk, else from Groq's `x_groq.usage`."""
        if self.usage:
            return self.usage
        groq = self.extra.get("x_groq")
        if isinstance(groq, Mapping) and isinstance(groq.get("usage"), Mapping):
            usage = groq["usage"]
            keys = ("prompt_tokens", "completion_tokens", "total_tokens")
            if all(isinstance(usage.get(k), int) for k in keys):
                return {k: usage[k] for k in keys}
        return None

    def completion(self) -> dict[str, Any]:
        """The accumulated reply as a `chat.completion` dict."""
        completion: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [_choice_dict(self._choices[i]) for i in sorted(self._choices)],
            "usage": self.final_usage,
        }
        if self.system_fingerprint is not None:
            completion["system_fingerprint"] = self.system_fingerprint
        if self.service_tier is not None:
            completion["service_tier"] = self.service_tier
        for key, value in self.extra.items():
            completion.setdefault(key, value)
        return completion


def _as_mapping(chunk: Any) -> Mapping[str, Any]:
    dump = getattr(chunk, "model_dump", None)
    if dump is None:
        raise MalformedStreamError(
            f"expected a chat.completion.chunk JSON object, got {type(chunk).__name__}: "
            f"{chunk!r:.80}"
        )
    result: Mapping[str, Any] = dump(exclude_unset=True)
    return result


def _index_without_index(choice: _Choice, tool_id: str | None) -> int:
    if tool_id:
        for tool in choice.tool_calls.values():
            if tool.id == tool_id:
                return tool.index
        return len(choice.tool_calls)
    if choice.open_tool is not None:
        return choice.open_tool.index
    return len(choice.tool_calls)


def _choice_dict(choice: _Choice) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": choice.role or "assistant",
        "content": "".join(choice.content) if choice.content_seen or choice.content else None,
        "refusal": "".join(choice.refusal) if choice.refusal else None,
    }
    if choice.tool_calls:
        message["tool_calls"] = [
            {
                "id": tool.id,
                "type": tool.type,
                "function": {"name": tool.name, "arguments": tool.arguments},
            }
            for _, tool in sorted(choice.tool_calls.items())
        ]
    if choice.reasoning:
        message[choice.reasoning_key] = "".join(choice.reasoning)
    logprobs = None
    if choice.logprobs_content is not None or choice.logprobs_refusal is not None:
        logprobs = {"content": choice.logprobs_content, "refusal": choice.logprobs_refusal}
    result = {
        "index": choice.index,
        "message": message,
        "finish_reason": choice.finish_reason,
        "logprobs": logprobs,
    }
    result.update(choice.extra)
    return result
