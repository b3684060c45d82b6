"""The tutor's tokenizer: a small deterministic function, not a real BPE.

Real models stream word pieces of one to a few characters; learners should see the same
rhythm, and tests need to predict it. So text is cut into words (with their leading space),
short digit runs, punctuation and whitespace runs, and any piece longer than six characters
is split again. The pieces always join back to the input exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MAX_PIECE", "content_text", "count_text_tokens", "count_tokens", "split_tokens"]

MAX_PIECE = 6
_PIECE = re.compile(r" ?[^\W\d_]+| ?\d{1,3}| ?[^\w\s]{1,3}|\n+|[ \t]+|(?s:.)")
# Per-message overhead, in the spirit of OpenAI's cookbook formula for chat prompts.
_PER_MESSAGE = 3
_REPLY_PRIMING = 3


def split_tokens(text: str) -> list[str]:
    """Cut text into word-piece sized tokens (1 to 6 characters) that join back to `text`."""
    pieces: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        if len(piece) <= MAX_PIECE:
            pieces.append(piece)
            continue
        parts = -(-len(piece) // 5)  # ceil: parts of at most 5 characters, sized evenly
        size, extra = divmod(len(piece), parts)
        start = 0
        for i in range(parts):
            end = start + size + (1 if i < extra else 0)
            pieces.append(piece[start:end])
            start = end
    return pieces


def count_text_tokens(text: str) -> int:
    """The number of tokens `split_tokens` would give, without keeping the pieces."""
    return len(split_tokens(text))


def content_text(content: Any) -> str:
    """The text of a message `content`: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def count_tokens(
    messages: Iterable[Mapping[str, Any]], tools: Iterable[Mapping[str, Any]] | None = None
) -> int:
    """Prompt tokens for a request: message texts, tool calls and tool schemas, plus overhead."""
    total = _REPLY_PRIMING
    for message in messages:
        total += _PER_MESSAGE
        total += count_text_tokens(str(message.get("role", "")))
        total += count_text_tokens(content_text(message.get("content")))
        if isinstance(message.get("name"), str):
            total += count_text_tokens(message["name"])
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {} if isinstance(call, Mapping) else {}
            total += count_text_tokens(str(function.get("name", "")))
            total += count_text_tokens(str(function.get("arguments", "")))
    if tools:
        total += count_text_tokens(json.dumps(list(tools), separators=(",", ":")))
    return total
