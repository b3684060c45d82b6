"""The Chat Completions wire shapes, named once.

Every module that reads or writes the protocol (the accumulator, the client, the server,
the widget) imports these instead of spelling dict keys from memory. They describe what
servers *send*, so every key is optional: real servers omit, repeat and add fields
(see section 7 of the protocol reference).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
Role = Literal["system", "developer", "user", "assistant", "tool"]


class FunctionCallDelta(TypedDict, total=False):
    name: str | None
    arguments: str | None


class ToolCallDelta(TypedDict, total=False):
    index: int
    id: str | None
    type: str | None
    function: FunctionCallDelta | None


class ChoiceDelta(TypedDict, total=False):
    role: str | None
    content: str | None
    refusal: str | None
    tool_calls: list[ToolCallDelta] | None
    reasoning_content: str | None
    reasoning: str | None


class TopLogprob(TypedDict, total=False):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprob(TopLogprob, total=False):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(TypedDict, total=False):
    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None


class ChunkChoice(TypedDict, total=False):
    index: int
    delta: ChoiceDelta
    finish_reason: str | None
    logprobs: ChoiceLogprobs | None


class Usage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None
    completion_tokens_details: dict[str, Any] | None


class ChatCompletionChunk(TypedDict, total=False):
    id: str
    object: str
    created: int
    model: str
    choices: list[ChunkChoice] | None
    usage: Usage | None
    system_fingerprint: str | None
    service_tier: str | None


class FunctionCall(TypedDict):
    name: str
    arguments: str


class ToolCall(TypedDict):
    id: str
    type: str
    function: FunctionCall


class ChatMessage(TypedDict, total=False):
    """A message as sent in a request's `messages` list or returned in a final choice."""

    role: str
    content: str | None
    name: str
    refusal: str | None
    tool_calls: list[ToolCall]
    tool_call_id: str


class ErrorBody(TypedDict, total=False):
    """The `error` object of the real API: `{"error": {message, type, param, code}}`."""

    message: str
    type: str | None
    param: str | None
    code: str | int | None


CHUNK_OBJECT = "chat.completion.chunk"
COMPLETION_OBJECT = "chat.completion"
DONE_SENTINEL = "[DONE]"
