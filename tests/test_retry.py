"""Retry of whole streams against the tutor server's real faults over loopback HTTP."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
import uuid

import openai
import pytest

from nbstream.client import astream_chat, stream_chat
from nbstream.errors import (
    EndpointError,
    RetryExhaustedError,
    ServerStreamError,
    StreamDroppedError,
)
from nbstream.events import ContentDelta, StreamRestarted
from nbstream.retry import NO_RETRY, RetryPolicy, parse_retry_after
from nbstream.splice import Splicer

PROMPT = [{"role": "user", "content": "Explain quantum computing"}]
QUICK = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0.0)


def faulty(spec: str) -> str:
    """A model name carrying a fault; the unique id gives each test its own `times` counter."""
    return f"tutor@{spec},id={uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def reference(tutor_server) -> str:
    client = openai.OpenAI(base_url=tutor_server.base_url, api_key="x")
    return stream_chat(client, model="tutor", messages=PROMPT, retry=NO_RETRY).until_done().text


@pytest.fixture
def client(tutor_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=tutor_server.base_url, api_key="x")


@pytest.fixture
def aclient(tutor_server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=tutor_server.base_url, api_key="x")


def run(client, model: str, policy: RetryPolicy = QUICK):
    stream = stream_chat(client, model=model, messages=PROMPT, retry=policy)
    events = list(stream)
    return stream.result(), [e for e in events if isinstance(e, StreamRestarted)]


def test_drop_then_success_equals_an_undisturbed_run(client, reference) -> None:
    result, restarts = run(client, faulty("drop=5,times=1"))
    assert result.text == reference
    assert result.attempts == 2
    (restart,) = restarts
    assert restart.reason == "connection lost after 5 chunks"
    assert restart.describe().endswith("(attempt 2 of 3)")
    assert "1 retry" in result.footer()


def test_repeated_drops_exhaust_and_keep_the_partial_text(client, reference) -> None:
    stream = stream_chat(client, model=faulty("drop=6"), messages=PROMPT, retry=QUICK)
    with pytest.raises(RetryExhaustedError, match="gave up after 3 attempts") as info:
        stream.until_done()
    assert isinstance(info.value.last_error, StreamDroppedError)
    assert info.value.partial_text and reference.startswith(info.value.partial_text)
    assert "\n" not in str(info.value)


def test_rate_limit_retry_after_is_honoured(client, reference) -> None:
    stream = stream_chat(
        client, model=faulty("status=429,retry_after=1,times=1"), messages=PROMPT, retry=QUICK
    )
    start = time.perf_counter()
    events = list(stream)
    waited = time.perf_counter() - start
    (restart,) = [e for e in events if isinstance(e, StreamRestarted)]
    assert restart.delay == pytest.approx(1.0) and restart.reason == "HTTP 429"
    assert waited >= 0.95  # the server's 1 s, not the 0.01 s backoff
    assert stream.result().text == reference


def test_retry_after_beyond_the_cap_is_final(client) -> None:
    policy = QUICK.with_options(max_retry_after=0.5)
    with pytest.raises(EndpointError, match="rate limited") as info:
        run(client, faulty("status=429,retry_after=1,times=1"), policy)
    assert info.value.retry_after == pytest.approx(1.0)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(client, reference, status: int) -> None:
    result, restarts = run(client, faulty(f"status={status},times=2"))
    assert result.text == reference
    assert [r.reason for r in restarts] == [f"HTTP {status}", f"HTTP {status}"]


def test_stall_is_detected_and_retried(client, reference) -> None:
    policy = QUICK.with_options(stall_timeout=0.3)
    result, restarts = run(client, faulty("stall=2,after=4,times=1"), policy)
    assert result.text == reference
    assert "stalled after 4 chunks" in restarts[0].reason


def test_retryable_error_event_is_retried(client, reference) -> None:
    result, restarts = run(client, faulty("error=3,retryable=1,times=1"))
    assert result.text == reference and len(restarts) == 1


def test_non_retryable_error_event_is_final(client) -> None:
    with pytest.raises(ServerStreamError) as info:
        run(client, faulty("error=3,times=1"))
    assert info.value.partial_text


def test_missing_done_is_accepted_when_finished(client, reference) -> None:
    result, restarts = run(client, faulty("no_done"))
    assert result.text == reference and not restarts


def test_never_retried_statuses(client) -> None:
    with pytest.raises(EndpointError, match="not found"):
        run(client, "no-such-model")


def test_async_drop_then_success(aclient, reference) -> None:
    async def go():
        stream = astream_chat(aclient, model=faulty("drop=4,times=1"), messages=PROMPT, retry=QUICK)
        return await stream.until_done()

    result = asyncio.run(go())
    assert result.text == reference and result.attempts == 2


def test_async_cancel_during_backoff_is_immediate(aclient) -> None:
    policy = QUICK.with_options(initial_delay=30.0)

    async def go() -> float:
        stream = astream_chat(aclient, model=faulty("status=503"), messages=PROMPT, retry=policy)

        async def consume() -> None:
            async for _ in stream:
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)  # the first attempt failed; the 30 s backoff has begun
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.perf_counter() - start

    assert asyncio.run(go()) < 0.2


def test_keyboard_interrupt_during_backoff_is_immediate(client) -> None:
    policy = QUICK.with_options(initial_delay=30.0)
    stream = stream_chat(client, model=faulty("status=503"), messages=PROMPT, retry=policy)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        stream.until_done()
    assert time.perf_counter() - start < 1.0
    timer.join()


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=0.5, max_delay=4.0, jitter=0.25)
    drop = StreamDroppedError("x")
    rng = random.Random(1)
    delays = [policy.next_delay(drop, attempt, rng) for attempt in range(1, 7)]
    bases = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for delay, base in zip(delays, bases, strict=True):
        assert delay is not None and 0.75 * base <= delay <= base
    assert policy.next_delay(drop, 10) is None  # out of attempts
    assert policy.next_delay(EndpointError("x", status=401), 1) is None


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    when = parse_retry_after({"retry-after": date}, now=0.0)
    assert when is not None and when > 1e9
    assert parse_retry_after({"retry-after": date}, now=when + 10**10) == 0.0
    assert parse_retry_after({}) is None


def test_continue_mode_splices_without_duplication(client, reference) -> None:
    policy = QUICK.with_options(mode="continue")
    stream = stream_chat(client, model=faulty("drop=40,times=1"), messages=PROMPT, retry=policy)
    shown = ""
    restarts = []
    for event in stream:
        if isinstance(event, ContentDelta):
            shown += event.text
        elif isinstance(event, StreamRestarted):
            restarts.append(event)
    (restart,) = restarts
    assert restart.keep  # renderers keep the partial text and append
    result = stream.result()
    assert result.text == reference  # the tutor repeated a word; the splice removed it
    assert shown == reference  # and what was displayed never had the repeat either
    assert result.attempts == 2


def test_splicer_overlap_rules() -> None:
    splicer = Splicer("The quick brown fox", window=10)
    assert splicer.feed("brown ") == ""
    assert splicer.feed("fox jumps") == " jumps"
    assert splicer.overlap == len("brown fox")
    assert splicer.join("brown fox jumps") == "The quick brown fox jumps"
    fresh = Splicer("Hello")
    assert fresh.feed("o") == "" and fresh.flush() == "o"  # one char is no overlap
    assert Splicer("").feed("anything") == "anything"


def test_continue_mode_survives_an_attempt_that_fails_before_any_chunk() -> None:
    from nbstream.client import _StreamCore

    core = _StreamCore(
        {"model": "m", "messages": PROMPT},
        base_url="http://127.0.0.1:1/v1",
        retry=QUICK.with_options(mode="continue", max_attempts=4),
        on_chunk=None,
        clock=time.perf_counter,
        rng=None,
    )
    core.begin_attempt()
    core.feed_chunk(
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi the"}}]}
    )
    _, first = core.plan_retry(StreamDroppedError("connection lost after 1 chunks"))
    core.begin_attempt()  # the continuation is refused before its first byte
    _, second = core.plan_retry(EndpointError("HTTP 503", status=503, retryable=True))
    assert first.keep and second.keep
    assert core.params["messages"][-2] == {"role": "assistant", "content": "Hi the"}
    assert core.text == "Hi the"
