"""`/tokens N`: a deterministic Markdown document of exactly N tokens, made lazily.

Benchmarks and tests need replies of a chosen length (from 1 to hundreds of thousands of
tokens) that still look like real model output: headings, lists, code blocks, paragraphs.
Sections are generated one at a time and the last one is cut to fit, so memory stays flat
whatever N is. `/tokens N plain` gives paragraphs only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nbstream.server.tokens import split_tokens

__all__ = ["MAX_TOKENS_COMMAND", "parse_tokens_command", "token_document"]

MAX_TOKENS_COMMAND = 10_000_000
_COMMAND = re.compile(r"^\s*/tokens\s+(\d+)(?:\s+(markdown|plain))?\s*$", re.I)
_SENTENCES = (
    "Each chunk carries a small delta of text.",
    "The client appends every delta to what it has shown so far.",
    "A finish chunk with an empty delta ends each choice.",
    "Usage arrives last, in a chunk whose choices list is empty.",
    "Rendering is throttled so the notebook stays responsive.",
    "A dropped connection is never retried by the SDK.",
    "Tool call arguments stream in fragments that join into JSON.",
)
# Words of at most five letters: with their leading space each is exactly one token.
_FILLER = (
    "this", "part", "is", "kept", "short", "so", "the", "reply", "ends", "at", "the",
    "exact", "token", "count", "and", "no", "later",
)  # fmt: skip
_TOPICS = ("Streaming", "Deltas", "Usage", "Retries", "Rendering", "Tools", "Pacing", "Faults")


def parse_tokens_command(prompt: str) -> tuple[int, bool] | None:
    """`(N, markdown)` for a `/tokens N [markdown|plain]` prompt, else None."""
    match = _COMMAND.match(prompt)
    if match is None:
        return None
    count = min(int(match.group(1)), MAX_TOKENS_COMMAND)
    return count, (match.group(2) or "markdown").lower() == "markdown"


def _paragraph(seed: int, sentences: int) -> str:
    return " ".join(_SENTENCES[(seed + i) % len(_SENTENCES)] for i in range(sentences))


def _section(number: int, markdown: bool) -> str:
    topic = _TOPICS[number % len(_TOPICS)]
    if not markdown:
        return _paragraph(number, 2 + number % 3) + "\n\n"
    return (
        f"## {number}. {topic}\n\n"
        f"{_paragraph(number, 2 + number % 2)}\n\n"
        f"- item {number}.1: **{topic.lower()}** matters\n"
        f"- item {number}.2: see `chunk[{number}]`\n\n"
        "```python\n"
        f"for delta in deltas[{number}:]:\n"
        "    print(delta, end='')\n"
        "```\n\n"
    )


def _filler(count: int) -> Iterator[str]:
    """Exactly `count` tokens of plain words, each a single token."""
    for i in range(count):
        word = _FILLER[i % len(_FILLER)]
        yield word.capitalize() if i == 0 else " " + word


def token_document(count: int, markdown: bool = True) -> Iterator[str]:
    """Yield exactly `count` tokens forming a Markdown (or plain) document."""
    remaining = count
    number = 1
    while remaining > 0:
        tokens = split_tokens(_section(number, markdown))
        if len(tokens) > remaining:
            yield from _filler(remaining)
            return
        yield from tokens
        remaining -= len(tokens)
        number += 1
