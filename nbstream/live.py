"""Live Markdown for a streaming reply: bounded traffic, and the same outputs when re-run.

Output sequence of one reply, as a saved notebook stores it and as nbval sees it:

    {} .. {}   segment 1   {} .. {}   segment 2   ..   [tool call]  [tool result]  ..   footer

- A **segment** is a plain `display_data` (no display_id) holding the reply up to a seal
  point (`markdown_blocks`): sent once, never changed, so its first state is its final
  state. Seal points depend on the text alone: every run cuts at the same places.
- Text not yet sealed shows in **live pieces**: displays created with no data (`{}`),
  updated while text arrives, and emptied again when their text is sealed. A data-less
  output renders as nothing, and nbval (which compares per MIME type) finds nothing in it,
  so the number of pieces, which depends on pace, never matters.
- Tool calls and results are sealed one-line blocks; the **footer** is a last display.

Traffic: each reply byte is sent once sealed; live redraws may spend at most 1.8 x the bytes
received + 16 KB, spread over time, within 20 display messages in any second (`Pacer` in
`throttle.py`), all checked against the clock in the consuming loop: no timer thread.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .events import (
    ChoiceFinished,
    ContentDelta,
    RefusalDelta,
    StreamRestarted,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
)
from .markdown_blocks import ReplyText, SoftPoint
from .result import ChatResult
from .session import RoundStarted, ToolResult
from .throttle import Pacer

__all__ = [
    "Data",
    "LiveReply",
    "Sink",
    "footer_data",
    "message_size",
    "tool_call_markdown",
    "tool_result_markdown",
]

Data = dict[str, str]
EMPTY: Data = {}


class Sink(Protocol):
    """Where a reply's outputs go: displays, updates of displays, and plain status lines."""

    def publish(self, data: Data, display_id: str | None = None, update: bool = False) -> None:
        """Send a display (`update=False`) or an update of display `display_id`."""

    def write(self, text: str) -> None:
        """Append plain text (status lines)."""


def message_size(data: Data, display_id: str | None = None) -> int:
    """Bytes of the serialized iopub `content` that ipykernel sends for this display."""
    transient = {"display_id": display_id} if display_id else {}
    content = {"data": data, "metadata": {}, "transient": transient}
    return len(json.dumps(content, ensure_ascii=False).encode())


def tool_call_markdown(name: str, arguments: str) -> str:
    """A tool call as one line of Markdown, its arguments in inline code."""
    ticks = "``" if "`" in arguments else "`"
    return f"🔧 **{name}** {ticks} {arguments or '{}'} {ticks}"


def tool_result_markdown(name: str, content: str, ok: bool) -> str:
    """A tool's result as one line (long results are cut: the model saw all of it)."""
    content = content if len(content) <= 300 else content[:299] + "…"
    ticks = "``" if "`" in content else "`"
    return f"{'↳' if ok else '✗'} **{name}** → {ticks} {content} {ticks}"


@dataclass(eq=False)
class _Piece:
    id: str
    start: SoftPoint
    end: int | None = None  # None while it is the hot (growing) piece
    shown: str = ""  # the Markdown it shows now
    soft_end: SoftPoint | None = None  # set when what it shows ends at a soft point


class LiveReply:
    """Renders one turn's events as notebook outputs (see the module docstring).

    `region=True` keeps the whole reply in one live display and sends the segments at the
    end, so concurrent async streams each keep their own place in the cell.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        clock: Callable[[], float] = time.monotonic,
        region: bool = False,
        live: bool = True,
        choices: int = 1,
        side: bool = False,
        json_mode: bool = False,
        seal_size: int = 6000,
        piece_size: int = 384,
        max_pieces: int = 16,
        interval: float = 0.05,
        max_messages: int = 20,
    ) -> None:
        self.sink = sink
        self.region = region
        self.live = live
        self.choices = choices
        self.side = side
        self.json_mode = json_mode
        self.seal_size = seal_size
        self.piece_size = piece_size
        self.max_pieces = max_pieces
        self.pacer = Pacer(clock, interval=interval, max_messages=max_messages, seal_size=seal_size)
        self.messages = 0
        self.bytes = 0
        self.segments: list[Data] = []  # region mode: sealed outputs sent at the end
        self.on_done: Callable[[], None] | None = None  # region mode: an ordering queue
        self.finished = False
        self._tag = uuid.uuid4().hex[:8]
        self._count = 0
        self._pieces: list[_Piece] = []
        self._tools: dict[int, tuple[str, str, _Piece | None]] = {}
        self._flow = self._new_flow()
        self._region: _Piece | None = None
        self._by_choice: dict[int, ReplyText] = {}

    # -- output primitives ---------------------------------------------------------------

    def _send(self, data: Data, display_id: str | None = None, update: bool = False) -> None:
        size = message_size(data, display_id)
        self.messages += 1
        self.bytes += size
        self.pacer.sent(size, live=display_id is not None)
        self.sink.publish(data, display_id, update)

    def _new_piece(self, start: SoftPoint) -> _Piece:
        self._count += 1
        piece = _Piece(f"nbstream-{self._tag}-{self._count}", start)
        self._send(EMPTY, piece.id)
        return piece

    def _show(self, piece: _Piece, markdown: str) -> None:
        if markdown != piece.shown:
            piece.shown = markdown
            self._send({"text/markdown": markdown} if markdown else EMPTY, piece.id, True)

    def _seal(self, markdown: str) -> None:
        if markdown.strip():
            if self.region:
                self.segments.append({"text/markdown": markdown})
            else:
                self._send({"text/markdown": markdown})

    def _clear_pieces(self) -> None:
        for piece in self._pieces:
            self._show(piece, "")
        self._pieces.clear()

    def _fits(self, messages: int, cost: int) -> bool:
        # Keep room for emptying the shown pieces at the end, too.
        return self.pacer.fits(messages, cost, sum(1 for p in self._pieces if p.shown))

    # -- events --------------------------------------------------------------------------

    def start(self) -> None:
        """Create the first live display before the request, so the first text shows at once."""
        if self.live and self._region is None and not self._pieces:
            piece = self._new_piece(SoftPoint(0))
            if self.region:
                self._region = piece
            else:
                self._pieces.append(piece)

    def handle(self, event: object) -> None:
        """Feed one turn event: stream events, `RoundStarted`, `ToolResult`."""
        if isinstance(event, (ContentDelta, RefusalDelta)):
            choice, text = event.choice, event.text
            if self.choices > 1:
                self._by_choice.setdefault(choice, ReplyText(10**12)).feed(text)
                self._received(len(text))
            elif choice == 0:
                self._text(text)
        elif isinstance(event, ToolCallArgumentsDelta):
            name, _, piece = self._tools.get(event.index, ("?", "", None))
            self._tools[event.index] = (name, event.arguments, piece)
            self._received(len(event.delta))
        elif isinstance(event, ChoiceFinished):
            if event.choice == 0:
                self._close_flow()
        elif isinstance(event, ToolCallStarted):
            self._close_flow()
            piece = None if self.region else self._new_piece(SoftPoint(0))
            self._tools[event.index] = (event.name, "", piece)
        elif isinstance(event, ToolCallDone):
            _, _, piece = self._tools.pop(event.index, ("", "", None))
            if piece is not None:
                self._show(piece, "")
            self._seal(tool_call_markdown(event.name, event.arguments))
        elif isinstance(event, ToolResult):
            out = event.outcome
            self._seal(tool_result_markdown(out.name, out.content, out.ok))
        elif isinstance(event, RoundStarted) and event.round > 1:
            self._flow = self._new_flow()
        elif isinstance(event, StreamRestarted):
            self._restart(event)

    def _text(self, text: str) -> None:
        self._flow.feed(text)
        self._received(len(text))

    def _received(self, size: int) -> None:
        if self.pacer.received(size) and self.live:
            self._tick()

    def _restart(self, event: StreamRestarted) -> None:
        self._clear_pieces()
        self._clear_tools()
        self._flow = self._new_flow()
        if event.reason:
            self.sink.write(
                f"↻ {event.reason}; retrying in {event.delay:.1f} s "
                f"(attempt {event.attempt} of {event.max_attempts})\n"
            )

    def _clear_tools(self) -> None:
        for _, _, piece in self._tools.values():
            if piece is not None:
                self._show(piece, "")
        self._tools.clear()

    def _new_flow(self) -> ReplyText:
        if self.json_mode:
            return ReplyText(self.seal_size, prefix="```json\n", suffix="\n```")
        return ReplyText(self.seal_size)

    # -- rendering -----------------------------------------------------------------------

    def _tick(self) -> None:
        redraw = self.pacer.begin_tick()
        if self.choices > 1:
            if redraw and self._pieces and self._fits(1, 2 * self.pacer.budget.received + 400):
                self._show(self._pieces[0], self._choices_markdown())
        elif self.region:
            if redraw:
                self._update_region()
        elif self._flow.pending:
            restores = sum(1 for p in self._pieces if p.shown)
            needed, room = restores + len(self._flow.pending) + 2, self.pacer.window.room()
            if needed <= room or room == self.pacer.window.limit:
                self._emit_pending()
        elif redraw:
            self._update_tools()
            self._update_text()
        self.pacer.end_tick()

    def _emit_pending(self) -> None:
        if not self.region:
            self._clear_pieces()
        for segment in self._flow.take_sealed():
            self._seal(segment)

    def _update_tools(self) -> bool:
        sent = False
        for name, arguments, piece in self._tools.values():
            markdown = tool_call_markdown(name, arguments + " …")
            if piece is not None and markdown != piece.shown and self._fits(1, len(markdown) + 120):
                self._show(piece, markdown)
                sent = True
        return sent

    def _update_text(self) -> bool:
        flow = self._flow
        end, soft = flow.end, flow.scanner.soft
        hot = self._pieces[-1] if self._pieces and self._pieces[-1].end is None else None
        start = hot.start if hot is not None else flow.next_start
        sent = False
        if hot is not None and len(self._pieces) < self.max_pieces:
            done = hot.soft_end
            if done is not None and done.offset - start.offset >= self.piece_size // 2:
                start = self._freeze(hot, done)  # it already shows its last state
                hot = None
            elif soft.offset - start.offset >= self.piece_size and self._fits(
                1, soft.offset - start.offset + 120
            ):
                # Redraw only up to the soft point: that is the piece's last redraw, and
                # the rest goes into a new, small piece (so no piece grows unaffordable).
                self._show(hot, flow.piece(start, soft.offset, soft.marker))
                start, hot, sent = self._freeze(hot, soft), None, True
        if end <= start.offset:
            return sent
        markdown = flow.piece(start, end)
        if not self._fits(1 if hot else 2, len(markdown) + 120):
            return sent
        if hot is None:
            hot = self._new_piece(start)
            self._pieces.append(hot)
        self._show(hot, markdown)
        hot.soft_end = soft if soft.offset == end else None
        return True

    def _freeze(self, piece: _Piece, at: SoftPoint) -> SoftPoint:
        piece.end = at.offset
        self._flow.next_start = at
        return at

    def _update_region(self) -> bool:
        flow, region = self._flow, self._region
        parts = [d["text/markdown"] for d in self.segments]
        if flow.end > flow.sealed:
            parts.append(self._flow.piece(SoftPoint(flow.sealed), flow.end))
        parts += [tool_call_markdown(n, a + " …") for n, a, _ in self._tools.values()]
        markdown = "\n\n".join(parts)
        if region is None or markdown == region.shown or not self._fits(1, len(markdown) + 120):
            return False
        self._show(region, markdown)
        return True

    def _close_flow(self) -> None:
        """The flow's text is complete: seal all of it now."""
        flow = self._flow
        if not self.region:
            self._clear_pieces()
        if flow.end > self._new_flow().end:  # more than the JSON mode's opening fence
            for segment in flow.take_rest():
                self._seal(segment)
            self._flow = self._new_flow()

    def _choices_markdown(self) -> str:
        texts = [
            flow.piece(SoftPoint(0), flow.end) if (flow := self._by_choice.get(i)) else ""
            for i in range(self.choices)
        ]
        if not self.side:
            return "\n\n---\n\n".join(f"**Choice {i + 1}**\n\n{t}" for i, t in enumerate(texts))
        cells = "".join(f'<td style="vertical-align:top">\n\n{t}\n\n</td>' for t in texts)
        heads = "".join(f"<th>Choice {i + 1}</th>" for i in range(self.choices))
        return f"<table><tr>{heads}</tr><tr>{cells}</tr></table>"

    def finish(self, result: ChatResult | None, *, note: str | None = None) -> None:
        """The turn ended (done, stopped or failed): seal the rest, then the footer."""
        self._close_flow()
        if self._by_choice:
            self._seal(self._choices_markdown())
        self._clear_tools()
        footer = [] if result is None else [footer_data(result)]
        self.finished = True
        if self.region:
            self.segments += footer
            if self.on_done is not None:
                self.on_done()  # an ordering queue sends our outputs when it is our turn
            else:
                self.flush_region()
        else:
            for data in footer:
                self._send(data)
        if note:
            self.sink.write(note + "\n")

    def flush_region(self) -> None:
        """Region mode: empty the live display and send the sealed outputs after it."""
        if self._region is not None:
            self._show(self._region, "")
        for data in self.segments:
            self._send(data)
        self.segments.clear()


def footer_data(result: ChatResult) -> Data:
    """The footer display: model · tokens in → out · TTFT · tokens/s · total · retries."""
    line = result.footer()
    return {"text/markdown": f"<sub>{line}</sub>", "text/plain": line}
