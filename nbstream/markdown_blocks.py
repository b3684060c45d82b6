"""Where a streamed Markdown reply can be cut without changing how it renders.

A live display must not resend the whole reply on every chunk, so the renderer cuts it.
`BlockScanner` reads the text as it streams, one complete line at a time (O(new text),
never rescanning), and reports two kinds of cut:

- **seal points**: everything before the point renders the same whatever follows. The
  point is the start of a line at column 0 that is not a list item, right after a blank
  line or a closing code fence, outside any fence, raw-HTML or `$$` block. Seal points are
  spaced at least `seal_size` characters apart and depend on the text alone, never on
  timing, so a re-run of a notebook cuts the reply at exactly the same places.
- **soft points**: where a throwaway live piece may end (after a blank line, before a list
  item, after a heading, after any line inside a code fence). A piece cut there may render
  slightly differently until its segment is sealed; `piece_markdown` re-opens and closes a
  fence so a piece cut inside a code block still shows as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BlockScanner", "ReplyText", "SoftPoint", "piece_markdown"]

_LIST_ITEM = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
_HTML_RAW = re.compile(r"[ \t]{0,3}<(pre|script|style|textarea)(?:[\s>]|$)", re.I)
_NONE: list[int] = []


@dataclass(frozen=True, slots=True)
class SoftPoint:
    """A place a live piece may end: `offset`, and the code fence open there (if any)."""

    offset: int
    opener: str | None = None  # the fence's opening line, e.g. "```python"
    marker: str | None = None  # what closes it, e.g. "```"


def piece_markdown(text: str, opener: str | None = None, marker: str | None = None) -> str:
    """A piece of the reply as standalone Markdown: re-open/close a fence it starts/ends in."""
    if opener:
        text = f"{opener}\n{text}"
    if marker:
        text = f"{text}{'' if text.endswith(chr(10)) else chr(10)}{marker}"
    return text


class BlockScanner:
    """Incremental block-boundary finder for one streamed Markdown text."""

    __slots__ = (
        "_head",
        "_html_end",
        "_line_start",
        "_math",
        "_parts",
        "_prev",
        "fence",
        "fence_opener",
        "offset",
        "seal_size",
        "segment_start",
        "soft",
    )

    def __init__(self, seal_size: int = 6000) -> None:
        self.seal_size = seal_size
        self.offset = 0  # characters fed so far
        self.segment_start = 0  # the last seal point (0 at first)
        self.soft = SoftPoint(0)  # the latest soft point
        self.fence: str | None = None  # the marker that closes the open fence
        self.fence_opener: str | None = None
        self._parts: list[str] = []  # the incomplete last line, in pieces
        self._line_start = 0
        self._head = ""  # the first characters of the incomplete line
        self._html_end: str | None = None
        self._math = False
        self._prev = "start"  # kind of the last complete line

    def feed(self, text: str) -> list[int]:
        """Read more text; return the seal points it completed (usually none)."""
        seals = _NONE
        start = 0
        find = text.find
        while (end := find("\n", start)) != -1:
            parts = self._parts
            if parts:
                parts.append(text[start : end + 1])
                line = "".join(parts)
                parts.clear()
            else:
                line = text[start : end + 1]
            point = self._line(line, self._line_start)
            self._line_start += len(line)
            self._head = ""
            if point is not None:
                if seals is _NONE:
                    seals = []
                seals.append(point)
            start = end + 1
        if start < len(text):
            rest = text[start:]
            self._parts.append(rest)
            if len(self._head) < 12:
                self._head = (self._head + rest)[:12]
                self._soft_list_item()
        self.offset += len(text)
        return seals

    def _soft_list_item(self) -> None:
        # A list item at column 0 may start a new piece as soon as its marker shows.
        head = self._head
        if (
            self.fence is None
            and self._html_end is None
            and not self._math
            and self._prev == "text"
            and len(head) >= 2
            and _LIST_ITEM.match(head)
        ):
            self.soft = SoftPoint(self._line_start)

    def _line(self, line: str, start: int) -> int | None:
        end = start + len(line)
        if self.fence is not None:
            self._fenced_line(line, end)
            return None
        if self._html_end is not None:
            if self._html_end in line.lower():
                self._html_end = None
            self._prev = "text"
            return None
        if self._math:
            if line.count("$$") % 2:
                self._math = False
            self._prev = "text"
            return None
        stripped = line.strip()
        if not stripped:
            if self._prev != "start":
                self.soft = SoftPoint(end)
                self._prev = "blank"
            return None
        seal = self._seal_at(line, start)
        self._open_block(line, stripped)
        if self._prev == "blank" or self._prev == "fence_close":
            pass  # the soft point after the blank line / fence is already recorded
        elif line[0] not in " \t" and _LIST_ITEM.match(line):
            self.soft = SoftPoint(start)
        if self.fence is None:
            self._prev = "text"
            if stripped.startswith("#") and line[0] == "#":
                self.soft = SoftPoint(end)  # an ATX heading is a block of one line
        return seal

    def _fenced_line(self, line: str, end: int) -> None:
        marker = self.fence
        assert marker is not None
        body = line.lstrip(" \t")
        run = len(body) - len(body.lstrip(marker[0]))
        if run >= len(marker) and not body[run:].strip():
            self.fence = self.fence_opener = None
            self.soft = SoftPoint(end)
            self._prev = "fence_close"
        else:
            self.soft = SoftPoint(end, self.fence_opener, marker)
            self._prev = "code"

    def _seal_at(self, line: str, start: int) -> int | None:
        if self._prev != "blank" and self._prev != "fence_close":
            return None
        if line[0] in " \t" or _LIST_ITEM.match(line):
            return None
        if start - self.segment_start < self.seal_size:
            return None
        self.segment_start = start
        return start

    def _open_block(self, line: str, stripped: str) -> None:
        fence = _FENCE.match(line)
        if fence is not None:
            run, info = fence.group(1), fence.group(2)
            if run[0] == "~" or "`" not in info:
                self.fence = run
                self.fence_opener = line.rstrip("\r\n")
                self._prev = "fence_open"
                return
        html = _HTML_RAW.match(line)
        if html is not None:
            end = f"</{html.group(1).lower()}>"
            if end not in line.lower():
                self._html_end = end
        elif stripped.startswith("<!--") and "-->" not in stripped[4:]:
            self._html_end = "-->"
        elif stripped.startswith("$$") and line.count("$$") % 2:
            self._math = True


class ReplyText:
    """One streamed Markdown text: what is not sealed yet, and the seal points pending.

    Appending is O(new text); the unsealed text is joined only when a renderer asks for
    it (at most once per redraw), and the sealed part is dropped from memory.
    """

    __slots__ = ("_base", "_parts", "next_start", "pending", "scanner", "sealed", "suffix")

    def __init__(self, seal_size: int = 6000, prefix: str = "", suffix: str = "") -> None:
        self.scanner = BlockScanner(seal_size)
        self.suffix = suffix
        self._parts: list[str] = []
        self._base = 0  # offset of _parts[0]
        self.sealed = 0  # text before this offset has been sealed
        self.pending: list[int] = []  # seal points reached but not yet sealed
        self.next_start = SoftPoint(0)  # where the next live piece starts
        if prefix:
            self.feed(prefix)

    def feed(self, text: str) -> None:
        self._parts.append(text)
        seals = self.scanner.feed(text)
        if seals:
            self.pending += seals

    @property
    def end(self) -> int:
        return self.scanner.offset

    def text(self, start: int, end: int | None = None) -> str:
        """The text from `start` (not before the sealed point) to `end` (or the end)."""
        parts = self._parts
        joined = "".join(parts) if len(parts) != 1 else parts[0]
        parts[:] = [joined]
        return joined[start - self._base : None if end is None else end - self._base]

    def take_sealed(self) -> list[str]:
        """The segments up to the last pending seal point, which becomes the sealed point."""
        if not self.pending:
            return []
        last = self.pending[-1]
        text = self.text(self.sealed, last)
        segments, cut = [], self.sealed
        for point in self.pending:
            segments.append(text[cut - self.sealed : point - self.sealed])
            cut = point
        self._drop_before(last)
        self.pending.clear()
        self.next_start = SoftPoint(last)
        return segments

    def take_rest(self) -> list[str]:
        """All segments not sealed yet, the last one with the suffix: the text is complete."""
        segments = self.take_sealed()
        if self.end > self.sealed:
            segments.append(self.text(self.sealed) + self.suffix)
            self._drop_before(self.end)
        return segments

    def _drop_before(self, offset: int) -> None:
        self._parts[:] = [self.text(offset)]
        self._base = self.sealed = offset

    def piece(self, start: SoftPoint, end: int, marker: str | None = None) -> str:
        """Markdown for the live piece from `start` to `end` (closing a fence open there)."""
        if end == self.end:
            marker = self.scanner.fence
        return piece_markdown(self.text(start.offset, end), start.opener, marker)
