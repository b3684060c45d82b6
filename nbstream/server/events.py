"""The unit the server streams: one SSE `data:` payload plus what pacing needs to know.

Everything between the tutor and the socket (dialects, faults, pacing, replay) works on
`Event`s, so the framing is written in one place (`responder.py`) and every other layer
only decides *what* to send and *when*.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from nbstream.types import CHUNK_OBJECT, DONE_SENTINEL

__all__ = ["DONE", "ChunkFactory", "Event", "digest"]


@dataclass(frozen=True, slots=True)
class Event:
    """One payload: a chunk dict, an error dict or `[DONE]`.

    `tokens` is how many tokens it carries (pacing spends 1/tps per token); `at` is an
    absolute time in seconds since the request started, used by replays instead.
    """

    data: dict[str, Any] | str
    tokens: int = 0
    at: float | None = None

    @property
    def is_done(self) -> bool:
        return self.data == DONE_SENTINEL


DONE = Event(DONE_SENTINEL)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def digest(*parts: Any, length: int = 24) -> str:
    """A deterministic base62 string derived from `parts` (ids that depend on the request)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    number = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    out = []
    for _ in range(length):
        number, rest = divmod(number, 62)
        out.append(_ALPHABET[rest])
    return "".join(out)


class ChunkFactory:
    """Builds `chat.completion.chunk` dicts with the fields that stay the same on every chunk."""

    def __init__(
        self, chunk_id: str, created: int, model: str, *, include_usage: bool = False
    ) -> None:
        self.id = chunk_id
        self.created = created
        self.model = model
        self.include_usage = include_usage
        self.fingerprint = "fp_tutor"

    def chunk(self, choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "object": CHUNK_OBJECT,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "choices": choices,
        }
        if self.include_usage:
            data["usage"] = usage
        return data

    def choice(
        self,
        index: int,
        delta: dict[str, Any],
        finish_reason: str | None = None,
        logprobs: Any = None,
    ) -> dict[str, Any]:
        return {
            "index": index,
            "delta": delta,
            "logprobs": logprobs,
            "finish_reason": finish_reason,
        }
