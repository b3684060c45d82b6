"""Emulations of how other OpenAI-compatible servers deviate when streaming (section 7).

Each dialect rewrites the tutor's correct event stream into what that server family really
sends, so a client can be tested against it without installing the server:

    vllm      last token and finish_reason share one chunk; `stop_reason` on the finish
    ollama    role in every chunk, finish on the last content chunk, whole tool calls,
              `created` changing between chunks
    litellm   tool call `id` and `type` repeated on every fragment; the usage chunk has
              non-empty choices
    azure     a prelude chunk with `choices: []`, empty id/model/object, prompt filters
    llamacpp  `content: null` in the role chunk, `timings` on the last chunk
    groq      `x_groq` on the first chunk and, with usage inside it, on the last

Mid-stream error styles (vLLM's `[DONE]` after the error, llama.cpp's old `error:` field)
are handled where errors are injected, in `responder.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from nbstream.server.events import Event

__all__ = ["apply_dialect"]

Usage = Callable[[], dict[str, Any]]


def _choice(event: Event) -> dict[str, Any] | None:
    data = event.data
    if isinstance(data, dict) and len(data.get("choices") or []) == 1:
        return data["choices"][0]  # type: ignore[no-any-return]
    return None


def _merge_finish(events: Iterator[Event], extra: dict[str, Any]) -> Iterator[Event]:
    """Hold each choice's latest content chunk; fold the finish reason into it."""
    pending: dict[int, Event] = {}
    for event in events:
        choice = _choice(event)
        if choice is None:
            yield from (pending.pop(i) for i in sorted(pending))
            yield event
            continue
        index = choice["index"]
        if choice.get("finish_reason") and index in pending:
            held = pending.pop(index)
            merged = copy.deepcopy(held.data)
            assert isinstance(merged, dict)
            merged["choices"][0].update(finish_reason=choice["finish_reason"], **extra)
            yield Event(merged, held.tokens + event.tokens)
        elif "content" in choice["delta"] and "role" not in choice["delta"]:
            if index in pending:
                yield pending.pop(index)
            pending[index] = event
        else:
            if index in pending:
                yield pending.pop(index)
            if choice.get("finish_reason"):
                choice.update(extra)
            yield event


def _whole_tool_calls(events: Iterator[Event]) -> Iterator[Event]:
    """Collect every tool-call fragment of a choice into one chunk with full arguments."""
    calls: dict[int, list[dict[str, Any]]] = {}
    held: dict[int, Event] = {}
    tokens: dict[int, int] = {}
    for event in events:
        choice = _choice(event)
        fragments = (choice or {}).get("delta", {}).get("tool_calls")
        if choice is not None and fragments:
            index = choice["index"]
            held.setdefault(index, event)
            tokens[index] = tokens.get(index, 0) + event.tokens
            for frag in fragments:
                if "id" in frag:
                    calls.setdefault(index, []).append(copy.deepcopy(frag))
                else:
                    calls[index][frag["index"]]["function"]["arguments"] += frag["function"][
                        "arguments"
                    ]
            continue
        if choice is not None and choice["index"] in calls:
            index = choice["index"]
            whole = copy.deepcopy(held.pop(index).data)
            assert isinstance(whole, dict)
            whole["choices"][0]["delta"] = {"content": "", "tool_calls": calls.pop(index)}
            yield Event(whole, tokens.pop(index))
        yield event


def _role_everywhere(events: Iterator[Event]) -> Iterator[Event]:
    for number, event in enumerate(events):
        choice = _choice(event)
        if choice is not None:
            choice["delta"] = {"role": "assistant", **choice["delta"]}
        if isinstance(event.data, dict) and "created" in event.data:
            event.data["created"] += number // 8
        yield event


def _litellm(events: Iterator[Event]) -> Iterator[Event]:
    heads: dict[tuple[int, int], dict[str, Any]] = {}
    for event in events:
        choice = _choice(event)
        for frag in (choice or {}).get("delta", {}).get("tool_calls") or []:
            key = (choice["index"], frag["index"]) if choice else (0, 0)
            if "id" in frag:
                heads[key] = {"id": frag["id"], "type": frag["type"]}
            else:
                frag.update(heads.get(key, {}))
        data = event.data
        if isinstance(data, dict) and data.get("choices") == [] and data.get("usage"):
            data["choices"] = [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}]
        yield event


_FILTERS = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}


def _azure(events: Iterator[Event]) -> Iterator[Event]:
    prelude = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTERS}],
    }
    yield Event(prelude)
    yield from events


def _last_chunk(events: Iterator[Event], mark: Callable[[dict[str, Any]], None]) -> Iterator[Event]:
    """Apply `mark` to the last chunk that has choices (the final finish chunk)."""
    held: Event | None = None
    for event in events:
        if _choice(event) is not None:
            if held is not None:
                yield held
            held = event
            continue
        if held is not None:
            assert isinstance(held.data, dict)
            mark(held.data)
            yield held
            held = None
        yield event
    if held is not None:
        yield held


def _llamacpp(events: Iterator[Event]) -> Iterator[Event]:
    def timings(data: dict[str, Any]) -> None:
        data["timings"] = {"prompt_n": 1, "predicted_n": 1, "predicted_per_second": 50.0}

    for event in _last_chunk(events, timings):
        choice = _choice(event)
        if choice is not None and choice["delta"].get("role"):
            choice["delta"]["content"] = None
        if isinstance(event.data, dict) and "system_fingerprint" in event.data:
            event.data["system_fingerprint"] = "b6497-tutor"
        yield event


def _groq(events: Iterator[Event], usage: Usage, request_id: str) -> Iterator[Event]:
    def last(data: dict[str, Any]) -> None:
        numbers = usage()
        data["x_groq"] = {"id": request_id, "usage": {"queue_time": 0.0, **numbers}}

    for number, event in enumerate(_last_chunk(events, last)):
        if number == 0 and isinstance(event.data, dict):
            event.data["x_groq"] = {"id": request_id}
        yield event


def apply_dialect(
    name: str | None, events: Iterator[Event], usage: Usage, request_id: str
) -> Iterator[Event]:
    """Rewrite a correct stream into the named server family's dialect (None: unchanged)."""
    if name == "vllm":
        return _merge_finish(events, {"stop_reason": None})
    if name == "ollama":
        return _role_everywhere(_merge_finish(_whole_tool_calls(events), {}))
    if name == "litellm":
        return _litellm(events)
    if name == "azure":
        return _azure(events)
    if name == "llamacpp":
        return _llamacpp(events)
    if name == "groq":
        return _groq(events, usage, request_id)
    return events
