"""Join a continuation onto a partial reply without repeating what the model says again.

In the retry policy's "continue" mode the partial reply is sent back and the model asked to
carry on. Models often restart a few words early, so the first characters of the new text
are held back until they can be compared with the end of the partial reply; the longest
overlap (at least `min_overlap` characters) is dropped, and the rest passes straight through.
"""

from __future__ import annotations

__all__ = ["CONTINUE_INSTRUCTION", "Splicer"]

CONTINUE_INSTRUCTION = (
    "Your previous reply was cut off. Continue it exactly where it stopped, "
    "without repeating anything and without any preamble."
)


class Splicer:
    """Feed the continuation's text; emit only what extends `prefix`."""

    __slots__ = ("_buffer", "_decided", "_min", "_window", "overlap", "prefix")

    def __init__(self, prefix: str, *, window: int = 200, min_overlap: int = 3) -> None:
        self.prefix = prefix
        self.overlap = 0
        self._buffer = ""
        self._decided = not prefix
        self._window = min(window, len(prefix))
        self._min = min_overlap

    def feed(self, text: str) -> str:
        """Return the part of `text` to show now ('' while still deciding)."""
        if self._decided:
            return text
        self._buffer += text
        return self._decide() if len(self._buffer) >= self._window else ""

    def flush(self) -> str:
        """End of the continuation: whatever was held back."""
        return "" if self._decided else self._decide()

    def join(self, continuation: str) -> str:
        """The whole reply: prefix plus the continuation minus the overlap."""
        return self.prefix + continuation[self.overlap :]

    def _decide(self) -> str:
        self._decided = True
        buffer = self._buffer
        for size in range(min(len(buffer), len(self.prefix)), self._min - 1, -1):
            if self.prefix.endswith(buffer[:size]):
                self.overlap = size
                break
        return buffer[self.overlap :]
