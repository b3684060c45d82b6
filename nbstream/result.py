"""The outcome of one streamed chat completion: text, final `ChatCompletion`, usage, timing.

Returned by `ChatStream.until_done()`, `nbstream.chat()` and the `%%chat` magic's `-o`. It
shows as Markdown in a notebook, and as its text in a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionMessage
from openai.types.completion_usage import CompletionUsage

from .timing import StreamTiming

__all__ = ["ChatResult"]


@dataclass(eq=False)
class ChatResult:
    """A finished (or interrupted) reply.

    `completion` is the final `openai.types.chat.ChatCompletion`, built once from the
    accumulated chunks. `attempts` counts tries including retries; `interrupted` is True when
    the user stopped the stream, and `error` holds the reason when it ended in a failure
    (the text received so far is still here).
    """

    completion: ChatCompletion
    timing: StreamTiming
    attempts: int = 1
    interrupted: bool = False
    error: str | None = None
    retry_reasons: list[str] = field(default_factory=list)

    @property
    def message(self) -> ChatCompletionMessage:
        return self.completion.choices[0].message

    @property
    def text(self) -> str:
        """The reply of the first choice ('' when it only called tools)."""
        if not self.completion.choices:
            return ""
        return self.completion.choices[0].message.content or ""

    @property
    def texts(self) -> list[str]:
        """The reply of every choice, by index (for n > 1)."""
        return [c.message.content or "" for c in self.completion.choices]

    @property
    def refusal(self) -> str | None:
        return self.message.refusal if self.completion.choices else None

    @property
    def finish_reason(self) -> str | None:
        return self.completion.choices[0].finish_reason if self.completion.choices else None

    @property
    def tool_calls(self) -> list[Any]:
        return list(self.message.tool_calls or []) if self.completion.choices else []

    @property
    def usage(self) -> CompletionUsage | None:
        return self.completion.usage

    @property
    def model(self) -> str:
        return self.completion.model

    @property
    def complete(self) -> bool:
        """True when the reply ended normally (not interrupted, no error)."""
        return not self.interrupted and self.error is None

    def assistant_message(self) -> dict[str, Any]:
        """The reply as a message dict to append to a conversation's history."""
        message: dict[str, Any] = {"role": "assistant", "content": self.message.content}
        if self.message.tool_calls:
            message["tool_calls"] = [call.model_dump() for call in self.message.tool_calls]
        return message

    def footer(self) -> str:
        """One line of figures: model, tokens in/out, TTFT, tokens/s, retries."""
        parts = [self.model or "?"]
        usage = self.usage
        if usage is not None:
            parts.append(f"{usage.prompt_tokens} → {usage.completion_tokens} tokens")
        parts.append(self.timing.summary())
        if self.attempts > 1:
            retries = self.attempts - 1
            parts.append(f"{retries} {'retry' if retries == 1 else 'retries'}")
        if self.interrupted:
            parts.append("interrupted")
        elif self.finish_reason == "length":
            parts.append("cut at max tokens")
        return " · ".join(parts)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"<ChatResult {self.model!r} {preview!r} ({self.footer()})>"

    def _repr_markdown_(self) -> str:
        return self.text or (self.refusal or "")
