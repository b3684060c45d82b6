"""The widget's wire format, named once: transcript entries, status, and custom messages.

State that must survive a re-rendered view or a reopened notebook lives in synced traits
(`transcript`, `pending`, `status`, `model`, `models`, `busy`). Everything that happens while
a reply streams travels as a custom message with a `kind`:

kernel -> view
    `delta`     text to append, tool-card changes and live figures for reply `id`
                (`replace` instead of `text`/`tools` after a retry restarted the stream)
    `snapshot`  the whole in-flight reply, for a view that rendered mid-stream
view -> kernel
    `send` (with `text`), `stop`, `new`, `hello` (a view rendered; asks for a snapshot)

A finished reply is not announced by a message: it is committed to `transcript`, and the
view swaps its streaming bubble for the committed entry with the same `id`.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "DeltaMessage",
    "FrontMessage",
    "LiveFigures",
    "Pending",
    "SnapshotMessage",
    "State",
    "Status",
    "ToolCard",
    "TranscriptEntry",
]

State = Literal["idle", "streaming", "done", "stopped", "error"]


class ToolCard(TypedDict):
    """One tool call as the view shows it: arguments as streamed, then the result."""

    id: str
    name: str
    args: str
    result: str | None
    ok: bool | None


class _Message(TypedDict):
    id: str
    role: Literal["user", "assistant"]
    content: str


class TranscriptEntry(_Message, total=False):
    """A committed message. Assistant entries carry the extra keys."""

    tools: list[ToolCard]
    interrupted: bool
    error: str | None
    footer: str
    model: str


class Pending(TypedDict):
    """The turn in flight (synced, so a new view shows the question at once)."""

    id: str
    user: TranscriptEntry


class Status(TypedDict, total=False):
    """The status line's state; live figures during a stream come in `delta` messages."""

    state: State
    model: str
    footer: str
    ttft: float | None
    tps: float | None
    usage: dict[str, Any] | None
    retries: int
    error: str | None


class LiveFigures(TypedDict, total=False):
    """Figures a `delta` may carry: tokens so far, TTFT, speed, usage, retry state."""

    n: int
    ttft: float
    tps: float
    usage: dict[str, Any]
    retry: str


class DeltaMessage(LiveFigures, total=False):
    kind: Literal["delta"]
    id: str
    text: str
    tools: list[dict[str, Any]]  # {"id", and any of "name", "args" (to append), "result", "ok"}
    replace: dict[str, Any]  # {"text": str, "tools": list[ToolCard]}


class SnapshotMessage(LiveFigures, total=False):
    kind: Literal["snapshot"]
    id: str
    text: str
    tools: list[ToolCard]


class FrontMessage(TypedDict, total=False):
    kind: Literal["send", "stop", "new", "hello"]
    text: str
