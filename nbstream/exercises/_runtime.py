"""Checks for the exercises about a stream's life: retry delays, timing, concurrency, rendering.

Each exercise has written rules, and `reference_*` is those rules as code; the notebooks
print the rules, and the solutions must agree with the reference on every case.
"""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import openai

from ..server import TutorServer
from . import _streams as s
from ._report import ExerciseFailed, Issues, NotWritten, Raised, call, differ, run_cases

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "check_concurrent",
    "check_retry_delay",
    "check_stream_stats",
    "check_throttle",
    "reference_retry_delay",
    "reference_stream_stats",
    "reference_throttle",
]

Case = tuple[str, Callable[[], Issues]]
MAX_ATTEMPTS = 3
MAX_RETRY_AFTER = 60.0


# -- 04: retry delays -----------------------------------------------------------------------


def reference_retry_delay(status: int, headers: Mapping[str, str], attempt: int) -> float | None:
    """Exercise 04's rules: seconds to wait before attempt `attempt + 1`, or None to give up."""
    lower = {k.lower(): v for k, v in headers.items()}
    if attempt >= MAX_ATTEMPTS:
        return None
    should = lower.get("x-should-retry")
    if should == "false":
        return None
    if should != "true" and status not in (408, 409, 429) and status < 500:
        return None
    wait = None
    if "retry-after-ms" in lower:
        wait = float(lower["retry-after-ms"]) / 1000
    elif "retry-after" in lower:
        wait = float(lower["retry-after"])
    if wait is not None and wait > 0:
        return wait if wait <= MAX_RETRY_AFTER else None
    return 0.5 * 2 ** (attempt - 1)


def _same_number(expected: float | None, got: Any) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    return isinstance(got, int | float) and math.isclose(got, expected, rel_tol=1e-6)


def check_retry_delay(retry_delay: Callable[[int, Mapping[str, str], int], float | None]) -> None:
    """Exercise 04: `retry_delay(status, headers, attempt) -> seconds | None`, on real refusals."""

    def case(name: str, refused: Callable[[], tuple[int, Mapping[str, str]]], attempt: int) -> Case:
        def test() -> Issues:
            status, headers = refused()
            expected = reference_retry_delay(status, headers, attempt)
            got = call(retry_delay, status, dict(headers), attempt)
            if _same_number(expected, got):
                return []
            return [differ(f"HTTP {status}, attempt {attempt}", expected, got)]

        return name, test

    def fault(spec: str) -> Callable[[], tuple[int, dict[str, str]]]:
        return lambda: s.refusal(spec)

    run_cases(
        [
            case("429 with Retry-After: 2", fault("status=429,retry_after=2"), 1),
            case("503, first retry", fault("status=503"), 1),
            case("503, second retry", fault("status=503"), 2),
            case("500 after the last attempt", fault("status=500"), MAX_ATTEMPTS),
            case("500 with x-should-retry: false", fault("status=500,should_retry=0"), 1),
            case("429 asking for 300 s", fault("status=429,retry_after=300"), 1),
            case("400 bad request", lambda: s.refusal(temperature=5), 1),
            case("404 unknown model", lambda: s.refusal(model="no-such-model"), 1),
            case("Retry-After in capitals", lambda: (429, {"Retry-After": "1.5"}), 1),
            case("only retry-after-ms", lambda: (503, {"retry-after-ms": "250"}), 2),
        ]
    )


# -- 05: timing -----------------------------------------------------------------------------


def reference_stream_stats(timed: Sequence[tuple[float, Mapping[str, Any]]]) -> dict[str, Any]:
    """Exercise 05's rules: time to first token, completion tokens and tokens per second."""
    first = last = None
    count = 0
    usage = None
    for t, chunk in timed:
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if (choice.get("delta") or {}).get("content"):
                first = t if first is None else first
                last = t
                count += 1
    tokens = usage["completion_tokens"] if usage else count
    rate = None
    if first is not None and last is not None and last > first and tokens > 1:
        rate = (tokens - 1) / (last - first)
    return {"ttft": first, "completion_tokens": tokens, "tokens_per_second": rate}


def check_stream_stats(stream_stats: Callable[[s.TimedChunks], Mapping[str, Any]]) -> None:
    """Exercise 05: `stream_stats([(t, chunk), ...]) -> {"ttft", "completion_tokens", ...}`."""

    def case(name: str, timed: Callable[[], s.TimedChunks]) -> Case:
        def test() -> Issues:
            data = timed()
            expected = reference_stream_stats(data)
            got = call(stream_stats, copy.deepcopy(data))
            if not isinstance(got, Mapping):
                return [f"expected a dict, got {type(got).__name__}"]
            return [
                differ(key, want, got.get(key))
                for key, want in expected.items()
                if not _same_number(want, got.get(key))
            ]

        return name, test

    run_cases(
        [
            case("recording: first-stream", lambda: s.timed_recording("first-stream")),
            case("recording: ollama-dialect", lambda: s.timed_recording("ollama-dialect")),
            case("steady 20 ms per token", lambda: s.timed_synthetic([0.02] * 20, usage=False)),
            case("with a usage chunk", lambda: s.timed_synthetic([0.01] * 20, usage=True)),
            case("uneven gaps", lambda: s.timed_synthetic([0.01, 0.3, 0.02] * 5, usage=True)),
            case("tool call only (no content)", lambda: s.timed_recording("weather-tool-call")),
        ]
    )


# -- 06: concurrency ------------------------------------------------------------------------

ReplyGatherer = Callable[[openai.AsyncOpenAI, list[str]], Awaitable[list[str]]]


async def _run_concurrently(gather_replies: ReplyGatherer, prompts: list[str]) -> tuple[Any, int]:
    """The learner's result, and the most streams the server had open at once."""
    with TutorServer(tokens_per_second=100, ttft_ms=150) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="tutor")
        peak = 0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, len(server.settings.streams))
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        try:
            return await gather_replies(client, list(prompts)), peak
        except NotImplementedError:
            raise NotWritten from None
        except Exception as exc:
            raise Raised(f"your function raised {type(exc).__name__}: {exc}") from exc
        finally:
            done.set()
            await watcher
            await client.close()


async def check_concurrent(gather_replies: ReplyGatherer) -> None:
    """Exercise 06: `await gather_replies(client, prompts)`: all at once, in prompt order."""
    prompts = [s.PROMPT, "Say this is a test", "count to 5", "Hello!"]
    expected = [s.reply_text(p) for p in prompts]
    got: Any = None
    peak = 0
    failure = ""
    try:
        got, peak = await _run_concurrently(gather_replies, prompts)
    except NotWritten:
        print("✗ not written yet: replace `raise NotImplementedError` in the answer cell")
        raise ExerciseFailed("the answer cell still raises NotImplementedError") from None
    except Raised as exc:
        failure = str(exc)

    def texts() -> Issues:
        if failure:
            return [failure]
        if not isinstance(got, list) or len(got) != len(prompts):
            return [differ("replies", f"a list of {len(prompts)} texts", got)]
        return [
            differ(f"reply {i} ({prompts[i]!r})", want, have)
            for i, (want, have) in enumerate(zip(expected, got, strict=True))
            if want != have
        ]

    def overlap() -> Issues:
        if failure or peak >= 2:
            return [failure] if failure else []
        return [
            "the streams ran one after another (never two open at once): "
            "start them all, then await them together, e.g. with asyncio.gather"
        ]

    run_cases([("every reply, in prompt order", texts), ("the streams overlap in time", overlap)])


# -- 07: throttled rendering ----------------------------------------------------------------

Arrivals = list[tuple[float, str]]


def reference_throttle(arrivals: Sequence[tuple[float, str]], interval: float) -> list[str]:
    """Exercise 07's rules: the text on screen after each render."""
    shown: list[str] = []
    text = ""
    last = -math.inf
    for t, delta in arrivals:
        text += delta
        if t - last >= interval:
            shown.append(text)
            last = t
    if arrivals and (not shown or shown[-1] != text):
        shown.append(text)
    return shown


def _arrivals(gap: float, count: int) -> Arrivals:
    words = ("Each", "chunk", "carries", "a", "small", "delta", "of", "text", "and", "so", "on")
    return [(round(i * gap, 6), " " + words[i % len(words)]) for i in range(count)]


def _recorded_arrivals() -> Arrivals:
    return [
        (t, c["choices"][0]["delta"].get("content") or "")
        for t, c in s.timed_recording("first-stream")
        if c.get("choices")
    ]


def check_throttle(throttled_renders: Callable[[Arrivals, float], list[str]]) -> None:
    """Exercise 07: `throttled_renders([(t, delta), ...], interval) -> [text shown, ...]`."""

    def case(name: str, arrivals: Callable[[], Arrivals], interval: float) -> Case:
        def test() -> Issues:
            data = arrivals()
            expected = reference_throttle(data, interval)
            got = call(throttled_renders, list(data), interval)
            if not isinstance(got, list):
                return [f"expected a list of texts, got {type(got).__name__}"]
            if len(got) != len(expected):
                hint = (
                    " (render only once `interval` has passed)" if len(got) > len(expected) else ""
                )
                return [f"rendered {len(got)} times, expected {len(expected)}{hint}"]
            for i, (want, have) in enumerate(zip(expected, got, strict=True)):
                if want != have:
                    return [differ(f"render {i}", want, have)]
            return []

        return name, test

    run_cases(
        [
            case("a burst: 300 deltas 1 ms apart", lambda: _arrivals(0.001, 300), 0.05),
            case("slow deltas, 200 ms apart", lambda: _arrivals(0.2, 8), 0.05),
            case("one delta", lambda: [(0.3, "Hello")], 0.1),
            case("nothing arrives", lambda: [], 0.1),
            case("the final text is always shown", lambda: _arrivals(0.03, 10), 0.1),
            case("a late last delta", lambda: [*_arrivals(0.001, 30), (0.5, " end.")], 0.1),
            case("tutor pace (recording)", _recorded_arrivals, 0.1),
        ]
    )
