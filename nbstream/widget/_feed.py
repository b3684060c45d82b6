"""One streaming reply as the widget sends it: every event applied, few messages sent.

`ReplyFeed.feed(event)` applies a turn event to the reply's text and tool cards (cheap) and
collects what changed since the last message. `flush()` sends it as one `delta` message when
two rules allow it:

* rate: at most one message per `interval` (1/15 s), so a view never gets more than ~20
  messages a second whatever the model's speed;
* bytes: everything sent for the reply stays within `ratio` x the reply's own bytes plus
  `slack`. A fast stream never meets this limit; a slow one, whose messages would carry a
  few characters each, sends fewer, larger pieces once the slack is used up.

Text still pending when the turn ends is never flushed: the committed transcript carries it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..events import (
    ContentDelta,
    RefusalDelta,
    StreamRestarted,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReceived,
)
from ..result import ChatResult
from ..session import RoundStarted, ToolResult, TurnEvent
from ._protocol import (
    DeltaMessage,
    SnapshotMessage,
    State,
    Status,
    ToolCard,
    TranscriptEntry,
)

__all__ = ["MAX_RESULT_CHARS", "ReplyFeed", "counts", "final_status"]

MAX_RESULT_CHARS = 4000  # a tool card shows this much of a result; the model got all of it
ENVELOPE = 80  # bytes ipywidgets adds around a custom message: comm_id, method, content


def counts(usage: Mapping[str, Any]) -> dict[str, Any]:
    """The three token counts of a usage object (the details are noise in a status line)."""
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: usage[k] for k in keys if usage.get(k) is not None}


class ReplyFeed:
    """The state of one in-flight reply and the throttle that decides when to send it."""

    def __init__(
        self,
        reply_id: str,
        send: Callable[[dict[str, Any]], None],
        *,
        interval: float = 1 / 15,
        ratio: float = 1.9,
        slack: int = 12_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = reply_id
        self.text = ""
        self.cards: dict[str, ToolCard] = {}
        self.usage: dict[str, Any] | None = None
        self.retry: str | None = None
        self.tokens = 0
        self.received = 0  # bytes of reply text and tool arguments seen
        self.spent = 0  # bytes of delta messages sent
        self.messages = 0
        self._send = send
        self._interval = interval
        self._ratio = ratio
        self._slack = slack
        self._clock = clock
        self._start = clock()
        self._first: float | None = None
        self._last_token = 0.0
        self._last_sent = float("-inf")
        self._ttft_sent = False
        self._round_text = 0  # len(text) when the current round began
        self._round_cards: list[str] = []
        self._by_index: dict[int, str] = {}
        self._text = ""  # pending, to append
        self._tools: dict[str, dict[str, Any]] = {}
        self._replace = False
        self._urgent = False
        self._usage_dirty = False

    # -- applying events -------------------------------------------------------------------

    def feed(self, event: TurnEvent) -> None:
        """Apply one event, then send a message if the throttle allows."""
        self.apply(event)
        self.flush()

    def apply(self, event: TurnEvent) -> None:
        if isinstance(event, ContentDelta | RefusalDelta):
            if event.choice == 0:
                self._append(event.text)
        elif isinstance(event, ToolCallStarted):
            card: ToolCard = {
                "id": event.id, "name": event.name, "args": "", "result": None, "ok": None
            }  # fmt: skip
            self.cards[event.id] = card
            self._by_index[event.index] = event.id
            self._round_cards.append(event.id)
            self._tool(event.id)["name"] = event.name
        elif isinstance(event, ToolCallArgumentsDelta):
            call_id = self._by_index.get(event.index)
            if call_id is not None:
                self.cards[call_id]["args"] += event.delta
                pending = self._tool(call_id)
                pending["args"] = pending.get("args", "") + event.delta
                self._count(event.delta)
        elif isinstance(event, ToolCallDone):
            done = self.cards.get(event.id) or self.cards.get(self._by_index.get(event.index, ""))
            if done is not None and done["args"] != event.arguments:
                done["args"] = event.arguments
                self._replace = True
        elif isinstance(event, ToolResult):
            self._result(event)
        elif isinstance(event, UsageReceived):
            self.usage = counts(event.usage)
            self._usage_dirty = True
        elif isinstance(event, RoundStarted):
            self._round(event.round)
        elif isinstance(event, StreamRestarted):
            self._restart(event)

    def _append(self, text: str) -> None:
        if not text:
            return
        now = self._clock()
        if self._first is None:
            self._first = now
        self._last_token = now
        self.tokens += 1
        self.text += text
        self._text += text
        self._count(text)

    def _count(self, text: str) -> None:
        self.received += len(text.encode())

    def _tool(self, call_id: str) -> dict[str, Any]:
        return self._tools.setdefault(call_id, {"id": call_id})

    def _result(self, event: ToolResult) -> None:
        outcome = event.outcome
        card = self.cards.get(outcome.call_id)
        if card is None:
            return
        content = outcome.content
        if len(content) > MAX_RESULT_CHARS:
            content = content[:MAX_RESULT_CHARS] + " …"
        card["result"], card["ok"] = content, outcome.ok
        self._tool(outcome.call_id).update(result=content, ok=outcome.ok)
        self._urgent = True

    def _round(self, number: int) -> None:
        self._round_cards = []
        self._by_index = {}
        if number > 1 and self.text and not self.text.endswith("\n\n"):
            self.text += "\n\n"
            self._text += "\n\n"
        self._round_text = len(self.text)

    def _restart(self, event: StreamRestarted) -> None:
        """A retry: drop this round's text and cards, and say so."""
        self.text = self.text[: self._round_text]
        for call_id in self._round_cards:
            self.cards.pop(call_id, None)
        self._round_cards, self._by_index = [], {}
        self.retry = f"retry {event.attempt}/{event.max_attempts}: {event.reason}"
        self._replace = True
        self._urgent = True

    # -- sending -----------------------------------------------------------------------------

    @property
    def has_pending(self) -> bool:
        return bool(self._text or self._tools or self._replace or self._usage_dirty)

    def wait(self) -> float | None:
        """Seconds until a pending message may go out by the rate rule (None: nothing waits)."""
        if not self.has_pending:
            return None
        return max(0.0, self._last_sent + self._interval - self._clock())

    def flush(self, *, force: bool = False) -> bool:
        """Send what changed, if the rate and byte rules allow (`force`: only the rate rule)."""
        now = self._clock()
        if not self.has_pending or now - self._last_sent < self._interval:
            return False
        message = self._message()
        size = len(json.dumps(message, ensure_ascii=False).encode()) + ENVELOPE
        within = self.spent + size <= self._ratio * self.received + self._slack
        if not (within or force or self._urgent):
            return False
        self._send(dict(message))
        self.spent += size
        self.messages += 1
        self._last_sent = now
        self._text, self._tools = "", {}
        self._replace = self._urgent = self._usage_dirty = False
        return True

    def _message(self) -> DeltaMessage:
        message: DeltaMessage = {"kind": "delta", "id": self.id}
        if self._replace:
            message["replace"] = {"text": self.text, "tools": list(self.cards.values())}
        else:
            if self._text:
                message["text"] = self._text
            if self._tools:
                message["tools"] = list(self._tools.values())
        self._figures(message)
        return message

    def _figures(self, message: DeltaMessage | SnapshotMessage, *, every: bool = False) -> None:
        message["n"] = self.tokens
        if self._first is not None and (every or not self._ttft_sent):
            message["ttft"] = round(self._first - self._start, 3)
            self._ttft_sent = True
        rate = self.rate()
        if rate is not None:
            message["tps"] = round(rate, 1)
        if self.usage is not None and (every or self._usage_dirty):
            message["usage"] = self.usage
        if self.retry is not None:
            message["retry"] = self.retry

    def rate(self) -> float | None:
        """Tokens per second over the generation so far (first to latest token)."""
        if self._first is None or self.tokens < 2 or self._last_token <= self._first:
            return None
        return (self.tokens - 1) / (self._last_token - self._first)

    def snapshot(self) -> SnapshotMessage:
        """The whole reply so far, for a view that rendered mid-stream."""
        message: SnapshotMessage = {"kind": "snapshot", "id": self.id, "text": self.text}
        message["tools"] = list(self.cards.values())
        self._figures(message, every=True)
        return message

    def entry(
        self,
        result: ChatResult | None,
        *,
        stopped: bool,
        error: BaseException | None,
        model: str,
    ) -> TranscriptEntry:
        """The reply as committed to the transcript, however the turn ended."""
        entry: TranscriptEntry = {"id": self.id, "role": "assistant", "content": self.text}
        entry["model"] = result.model if result is not None and result.model else model
        if self.cards:
            entry["tools"] = list(self.cards.values())
        if stopped:
            entry["interrupted"] = True
        if error is not None:
            entry["error"] = str(error) or type(error).__name__
        if result is not None:
            entry["footer"] = result.footer()
        return entry


def final_status(
    result: ChatResult | None, *, stopped: bool, error: BaseException | None, model: str
) -> Status:
    """The status line once a turn has ended: its state and the result's figures."""
    state: State = "error" if error is not None else "stopped" if stopped else "done"
    status: Status = {"state": state, "model": model}
    if error is not None:
        status["error"] = str(error) or type(error).__name__
    if result is not None:
        status["footer"] = result.footer()
        status["ttft"] = result.timing.time_to_first_token
        status["tps"] = result.timing.tokens_per_second
        status["usage"] = counts(result.usage.model_dump()) if result.usage is not None else None
        status["retries"] = result.attempts - 1
    return status
