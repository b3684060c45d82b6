"""The streams the checks run on: the tutor's real bytes, and awkward variants made from them.

Bodies are fetched over HTTP from a private tutor server (as fast as it goes), so they are
exactly what a client receives; the same request always gives the same bytes, so they are
cached. The expected answers come from nbstream's own tested parser and accumulator.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from ..accumulator import StreamAccumulator
from ..errors import StreamError
from ..parser import StreamParser
from ..recording import load_recording
from ..server import TutorServer
from ..server.replay import SHIPPED_DIR

Chunk = dict[str, Any]
TimedChunks = list[tuple[float, Chunk]]
PROMPT = "What is the capital of France?"


def _tool(name: str, description: str, key: str, about: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {key: {"type": "string", "description": about}}}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {**schema, "required": [key]},
        },
    }


WEATHER_TOOL = _tool("get_weather", "Current weather for a city.", "city", "City name")
STOCK_TOOL = _tool("get_stock_price", "Latest price for a ticker.", "ticker", "Ticker symbol")


@functools.cache
def server() -> TutorServer:
    """The checks' own tutor server, started on first use, for the life of the kernel."""
    return TutorServer().start()


def _post(payload: Mapping[str, Any], fault: str) -> tuple[int, dict[str, str], bytes]:
    """POST to the checks' server with the standard library (no HTTP client dependency)."""
    headers = {"content-type": "application/json"}
    if fault:
        headers["x-nbstream-fault"] = fault
    request = urllib.request.Request(
        server().base_url + "/chat/completions", json.dumps(payload).encode(), headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, dict(refused.headers), refused.read()


@functools.cache
def _fetch(body_json: str, fault: str) -> bytes:
    status, _, content = _post({"model": "tutor", "stream": True, **json.loads(body_json)}, fault)
    if status != 200:
        raise RuntimeError(f"the tutor refused a check's request ({status}): {content[:200]!r}")
    return content


def body(
    prompt: str = PROMPT,
    *,
    fault: str = "",
    tools: Sequence[Mapping[str, Any]] = (),
    usage: bool = False,
    **params: Any,
) -> bytes:
    """The raw SSE body the tutor streams for `prompt` (with a fault/dialect spec, tools...)."""
    params["messages"] = [{"role": "user", "content": prompt}]
    if tools:
        params["tools"] = list(tools)
    if usage:
        params["stream_options"] = {"include_usage": True}
    return _fetch(json.dumps(params, sort_keys=True), fault)


def refusal(fault: str = "", **params: Any) -> tuple[int, dict[str, str]]:
    """Status and headers of a real refused request (a fault spec, or bad parameters)."""
    payload = {"model": "tutor", "messages": [{"role": "user", "content": PROMPT}], **params}
    status, headers, _ = _post(payload, fault)
    return status, {k.lower(): v for k, v in headers.items()}


def events(raw: bytes) -> list[bytes]:
    return [e + b"\n\n" for e in raw.split(b"\n\n") if e]


def _encode(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def chunks_of(raw: bytes) -> list[Chunk]:
    """The chunk dicts a correct client reads from a raw body (nbstream's own parser)."""
    found: list[Chunk] = []
    parser = StreamParser(on_chunk=found.append)
    parser.feed_bytes(raw)
    with contextlib.suppress(StreamError):  # truncated streams still have their chunks
        parser.finish()
    return found


def reference(chunks: Sequence[Chunk]) -> dict[str, Any]:
    """The final completion dict, as nbstream's accumulator builds it."""
    acc = StreamAccumulator()
    for chunk in chunks:
        acc.feed(copy.deepcopy(chunk))
    acc.finish()
    return acc.completion()


def reply_text(prompt: str) -> str:
    text: str = reference(chunks_of(body(prompt)))["choices"][0]["message"]["content"]
    return text


# -- awkward variants -------------------------------------------------------------------------


def choices_null(raw: bytes) -> bytes:
    """The usage chunk with `choices: null` instead of `[]` (DeepSeek, NIM, OpenRouter)."""
    parts = events(raw)
    usage = json.loads(parts[-2][len(b"data: ") :])
    usage["choices"] = None
    parts[-2] = _encode(usage)
    return b"".join(parts)


def cut_mid_event(raw: bytes, keep: int = 4) -> bytes:
    """The connection dies 40 bytes into event `keep`."""
    parts = events(raw)
    return b"".join(parts[:keep]) + parts[keep][:40]


def with_comments(raw: bytes) -> bytes:
    """A `: keep-alive` comment before every event."""
    return b": keep-alive\n\n" + b": keep-alive\n\n".join(events(raw))


def role_with_first_fragment(raw: bytes) -> bytes:
    """The other legal shape: the role and the first tool fragment in one chunk."""
    parts = events(raw)
    first, second = (json.loads(e[len(b"data: ") :]) for e in parts[:2])
    first["choices"][0]["delta"].update(second["choices"][0]["delta"])
    return _encode(first) + b"".join(parts[2:])


def timed_recording(name: str) -> TimedChunks:
    """`(t, chunk)` pairs of a shipped recording (real pacing, as recorded)."""
    recording = load_recording(SHIPPED_DIR / f"{name}.jsonl")
    return [(e.t, e.data) for e in recording.events if isinstance(e.data, dict)]


def timed_synthetic(gaps: Sequence[float], usage: bool, ttft: float = 0.25) -> TimedChunks:
    """The tutor's chunks with made-up arrival times: role at 50 ms, tokens from `ttft`."""
    chunks = chunks_of(body(usage=usage))
    timed: TimedChunks = [(0.05, chunks[0])]
    t = ttft
    for chunk, gap in zip(chunks[1:], [0.0, *gaps], strict=False):
        t += gap
        timed.append((round(t, 6), chunk))
    timed += [(round(t, 6), c) for c in chunks[len(timed) :]]
    return timed
