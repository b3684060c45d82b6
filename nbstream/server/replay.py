"""Serve a recording as a model: `replay:<name>` streams exactly what was recorded.

Names resolve only inside the shipped `recordings/` folder and one folder the server owner
configured; a request can never make the server read an arbitrary file. Events keep their
recorded times (scaled by `speed=`), so pauses and quirks replay as they happened.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbstream.recording import Recording, RecordingError, load_recording
from nbstream.server.events import Event
from nbstream.types import COMPLETION_OBJECT

__all__ = ["SHIPPED_DIR", "ReplayLibrary", "replay_body", "replay_events"]

SHIPPED_DIR = Path(__file__).with_name("recordings")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")


class ReplayLibrary:
    """The folders `replay:` may read from, and the lookup of a name inside them."""

    def __init__(self, extra_dir: str | os.PathLike[str] | None = None) -> None:
        dirs = [SHIPPED_DIR] + ([Path(extra_dir)] if extra_dir else [])
        self.dirs = [d.resolve() for d in dirs]

    def names(self) -> list[str]:
        """Every recording name available, shipped ones first."""
        found: dict[str, None] = {}
        for folder in self.dirs:
            if folder.is_dir():
                found.update((p.stem, None) for p in sorted(folder.glob("*.jsonl")))
        return list(found)

    def find(self, name: str) -> Path | None:
        """The file for `name`, or None if it is not inside an allowed folder."""
        if not _NAME.match(name) or ".." in name.split("/"):
            return None
        filename = name if name.endswith(".jsonl") else name + ".jsonl"
        for folder in self.dirs:
            path = (folder / filename).resolve()
            if path.is_relative_to(folder) and path.is_file():
                return path
        return None

    def load(self, name: str) -> Recording | None:
        path = self.find(name)
        if path is None:
            return None
        return _load_cached(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _load_cached(path: Path, mtime_ns: int) -> Recording:
    return load_recording(path)


def replay_events(recording: Recording) -> Iterator[Event]:
    """The recorded events, each due at its recorded time."""
    for event in recording.events:
        yield Event(event.data, tokens=0, at=event.t)


def replay_body(recording: Recording) -> dict[str, Any]:
    """A non-streaming `chat.completion` assembled from the recorded chunks."""
    first: dict[str, Any] = next(iter(recording.chunks()), {})
    messages: dict[int, dict[str, Any]] = {}
    finishes: dict[int, str | None] = {}
    usage = None
    for chunk in recording.chunks():
        if chunk.get("error"):
            raise RecordingError("the recording ends in an error event")
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            message = messages.setdefault(index, {"role": "assistant", "content": None})
            delta = choice.get("delta") or {}
            if delta.get("content"):
                message["content"] = (message["content"] or "") + delta["content"]
            for frag in delta.get("tool_calls") or []:
                calls = message.setdefault("tool_calls", [])
                if frag.get("index", 0) >= len(calls):
                    calls.append(
                        {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                    )
                call = calls[frag.get("index", 0)]
                call["id"] = frag.get("id") or call["id"]
                function = frag.get("function") or {}
                call["function"]["name"] = function.get("name") or call["function"]["name"]
                call["function"]["arguments"] += function.get("arguments") or ""
            finishes[index] = choice.get("finish_reason") or finishes.get(index)
    return {
        "id": first.get("id", ""),
        "object": COMPLETION_OBJECT,
        "created": first.get("created", recording.created),
        "model": first.get("model", recording.model),
        "choices": [
            {"index": i, "message": messages[i], "logprobs": None, "finish_reason": finishes.get(i)}
            for i in sorted(messages)
        ],
        "usage": usage,
    }
