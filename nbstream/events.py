"""What a stream tells its renderers, one small immutable event per happening.

The accumulator turns chunks into these; the client adds the stream-level ones
(`StreamRestarted`). Renderers (the magic, the widget, a learner's print loop) match on
the class and never have to look inside a raw chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ChoiceFinished",
    "ContentDelta",
    "ReasoningDelta",
    "RefusalDelta",
    "StreamEvent",
    "StreamRestarted",
    "ToolCallArgumentsDelta",
    "ToolCallDone",
    "ToolCallStarted",
    "UsageReceived",
]


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """New reply text for choice `choice`."""

    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    """New refusal text: the model declined and says why."""

    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text some servers stream beside the reply (`reasoning_content`/`reasoning`)."""

    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool call's first fragment: its id and function name are now known."""

    choice: int
    index: int
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDelta:
    """More of a tool call's JSON arguments; `arguments` is the text so far."""

    choice: int
    index: int
    delta: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallDone:
    """A tool call is complete: the next one started or its choice finished."""

    choice: int
    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class UsageReceived:
    """Token counts arrived (the usage-only chunk, or a server's per-chunk usage)."""

    usage: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChoiceFinished:
    """Choice `choice` ended with `finish_reason` (`stop`, `length`, `tool_calls`, ...)."""

    choice: int
    finish_reason: str


@dataclass(frozen=True, slots=True)
class StreamRestarted:
    """The stream failed and a new attempt begins.

    Renderers drop what they showed so far, unless `keep` is set: then the new attempt
    continues the partial reply (the retry policy's "continue" mode) and its text is appended.
    """

    attempt: int
    max_attempts: int
    reason: str
    delay: float
    chunks_received: int
    keep: bool = False

    def describe(self) -> str:
        """The status line: `connection lost after 37 chunks, retrying in 1.2 s (attempt 2 of 3)`"""
        wait = f"retrying in {self.delay:.1f} s" if self.delay >= 0.05 else "retrying now"
        return f"{self.reason}, {wait} (attempt {self.attempt} of {self.max_attempts})"


StreamEvent = (
    ContentDelta
    | RefusalDelta
    | ReasoningDelta
    | ToolCallStarted
    | ToolCallArgumentsDelta
    | ToolCallDone
    | UsageReceived
    | ChoiceFinished
    | StreamRestarted
)
