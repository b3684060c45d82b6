"""Show a streaming reply in IPython: the sink, the drivers, and concurrent replies.

`run_live` / `arun_live` feed a turn's events to a renderer (`live.LiveReply` in a notebook,
`TextReply` in a terminal) and turn the ways a stream can end (finished, interrupted, failed)
into outputs: the partial reply stays, one line says what happened, never a traceback.
`live_achat` runs several replies at once, each in its own output.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from .errors import NbstreamError
from .events import ContentDelta, StreamRestarted, ToolCallDone
from .live import (
    Data,
    LiveReply,
    Sink,
    footer_data,
    message_size,
    tool_call_markdown,
    tool_result_markdown,
)
from .result import ChatResult
from .session import AsyncTurn, ChatSession, ToolResult, Turn, default_session

__all__ = [
    "INTERRUPTED",
    "IPythonSink",
    "LiveReply",
    "Sink",
    "TextReply",
    "arun_live",
    "footer_data",
    "live_achat",
    "message_size",
    "run_live",
    "tool_call_markdown",
]


class IPythonSink:
    """Publishes through the shell's display publisher, as `IPython.display.display` does."""

    def __init__(self, shell: Any = None) -> None:
        if shell is None:
            from IPython import get_ipython

            shell = get_ipython()
        self._publish = shell.display_pub.publish

    def publish(self, data: Data, display_id: str | None = None, update: bool = False) -> None:
        transient = {"display_id": display_id} if display_id else {}
        self._publish(data=data, metadata={}, transient=transient, update=update)

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()


class TextReply:
    """The terminal fallback: reply text printed as it arrives, then the footer line."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def start(self) -> None:
        pass

    def handle(self, event: object) -> None:
        if type(event) is ContentDelta and event.choice == 0:
            self.sink.write(event.text)
        elif isinstance(event, ToolCallDone):
            self.sink.write(f"\n{tool_call_markdown(event.name, event.arguments)}\n")
        elif isinstance(event, ToolResult):
            out = event.outcome
            self.sink.write(tool_result_markdown(out.name, out.content, out.ok) + "\n")
        elif isinstance(event, StreamRestarted) and event.reason:
            self.sink.write(f"\n↻ {event.reason}; retrying in {event.delay:.1f} s\n")

    def finish(self, result: ChatResult | None, *, note: str | None = None) -> None:
        footer = f"\n[{result.footer()}]" if result is not None else ""
        self.sink.write(f"{footer}\n{note + chr(10) if note else ''}")


INTERRUPTED = "⏹ Interrupted — the partial reply is kept in history."


def _stopped(turn: Turn | AsyncTurn, error: BaseException | None) -> ChatResult | None:
    try:
        return turn.partial(error)
    except RuntimeError:  # stopped before the first request went out
        return None


def run_live(turn: Turn, view: LiveReply | TextReply) -> ChatResult | None:
    """Drive a sync turn into a view. Ctrl-C (the kernel's stop button) ends the stream,
    closes the connection and keeps the partial reply; nbstream errors are re-raised
    after the partial reply is sealed on screen."""
    view.start()
    events = iter(turn)
    try:
        for event in events:
            view.handle(event)
    except KeyboardInterrupt:
        events.close()  # type: ignore[attr-defined]  # exits the SDK's `with` block
        result = _stopped(turn, None)
        view.finish(result, note=INTERRUPTED)
        return result
    except NbstreamError as error:
        _stopped(turn, error)
        view.finish(None)
        raise
    view.finish(turn.result)
    return turn.result


async def arun_live(turn: AsyncTurn, view: LiveReply) -> ChatResult | None:
    """The async twin of `run_live`; cancelling the task counts as an interrupt."""
    view.start()
    try:
        async for event in turn:
            view.handle(event)
    except (asyncio.CancelledError, KeyboardInterrupt):
        view.finish(_stopped(turn, None), note=INTERRUPTED)
        raise
    except NbstreamError as error:
        _stopped(turn, error)
        view.finish(None)
        raise
    view.finish(turn.result)
    return turn.result


_waiting: list[LiveReply] = []  # region views, in start order, whose outputs are not sent


def _in_order() -> None:
    """Send finished region views' outputs in the order they started (stable on re-runs).

    A stream started in an earlier cell and still running holds later ones back until it
    ends: await what you start.
    """
    while _waiting and _waiting[0].finished:
        _waiting.pop(0).flush_region()


async def live_achat(
    prompt: str, *, session: ChatSession | None = None, **kwargs: Any
) -> ChatResult | None:
    """`await live_achat(prompt)`: stream into this cell's own live display, async.

    Several can run at once (`asyncio.gather`); each keeps its own display, and their
    final outputs appear in the order the calls started, whatever order they finish in.
    """
    turn = (session or default_session()).aturn(prompt, **kwargs)
    view = LiveReply(IPythonSink(), region=True)
    view.on_done = _in_order
    _waiting.append(view)
    try:
        return await arun_live(turn, view)
    finally:
        view.finished = True  # even after an unexpected error: never block the queue
        _in_order()
