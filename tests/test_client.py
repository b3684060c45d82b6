"""The client over real loopback HTTP: golden bodies served byte for byte, fast and SDK paths."""

from __future__ import annotations

import asyncio

import openai
import pytest
from goldens import COMPLETE, golden
from rawserver import Canned, raw_server

from nbstream.client import astream_chat, stream_chat
from nbstream.errors import (
    EndpointError,
    RetryExhaustedError,
    ServerStreamError,
    StreamDroppedError,
    TruncatedStreamError,
)
from nbstream.events import ContentDelta, StreamRestarted
from nbstream.parser import parse_stream
from nbstream.retry import NO_RETRY, RetryPolicy

MESSAGES = [{"role": "user", "content": "Hello!"}]
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0.0)


@pytest.fixture
def server():
    with raw_server() as srv:
        yield srv


def client_for(server, cls=openai.OpenAI):
    return cls(base_url=server.base_url, api_key="sk-test")


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "sdk"])
@pytest.mark.parametrize("name", COMPLETE)
def test_golden_over_http_matches_pure_parse(server, name: str, fast: bool) -> None:
    server.stream(golden(name), piece=7)
    stream = stream_chat(
        client_for(server), model="m", messages=MESSAGES, fast=fast, retry=NO_RETRY
    )
    result = stream.until_done()
    expected, _ = parse_stream([golden(name)])
    got = result.completion.model_dump(exclude_unset=True)
    for key in ("id", "model", "created", "usage"):
        assert got.get(key) == expected.get(key), key
    for mine, theirs in zip(got["choices"], expected["choices"], strict=True):
        assert mine["message"].get("content") == theirs["message"]["content"]
        assert mine["message"].get("tool_calls") == theirs["message"].get("tool_calls")
        assert mine["finish_reason"] == theirs["finish_reason"]


def test_include_usage_is_requested_and_timing_measured(server) -> None:
    server.stream(golden("usage"), piece=40, delay=0.01)
    result = stream_chat(client_for(server), model="m", messages=MESSAGES).until_done()
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert result.text == "One two three."
    assert result.usage.total_tokens == 22
    assert result.timing.completion_tokens == 3
    assert result.timing.time_to_first_token is not None
    assert result.timing.total >= result.timing.time_to_first_token
    assert "19 → 3 tokens" in result.footer()


def test_stream_options_rejection_is_retried_without_it(server) -> None:
    server.error(400, "Unrecognized request argument supplied: stream_options")
    server.stream(golden("plain"))
    url_client = openai.OpenAI(base_url=server.base_url + "/", api_key="x")  # a unique base URL
    result = stream_chat(url_client, model="m", messages=MESSAGES, retry=NO_RETRY).until_done()
    assert result.text == "Hello, wörld 👋"
    assert "stream_options" in server.requests[0]
    assert "stream_options" not in server.requests[1]


def test_events_arrive_while_streaming(server) -> None:
    server.stream(golden("plain"), piece=30)
    deltas = [
        e.text
        for e in stream_chat(client_for(server), model="m", messages=MESSAGES)
        if isinstance(e, ContentDelta)
    ]
    assert deltas == ["Hello", ", wörld", " 👋"]


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "Incorrect API key provided: sk-abc***xyz", "set OPENAI_API_KEY"),
        (404, "The model `nope` does not exist", "model 'm' was not found"),
        (400, "max_tokens is too large", "bad request (400): max_tokens is too large"),
    ],
)
def test_status_errors_become_one_clear_line(server, status, message, expected) -> None:
    server.error(status, message)
    with pytest.raises(EndpointError) as info:
        stream_chat(client_for(server), model="m", messages=MESSAGES).until_done()
    text = str(info.value)
    assert expected in text
    assert "\n" not in text
    assert "sk-" not in text
    assert info.value.status == status
    assert len(server.requests) == 1  # never retried


def test_connection_refused_names_the_url() -> None:
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x")
    with pytest.raises(EndpointError, match=r"cannot connect to http://127\.0\.0\.1:9/v1"):
        stream_chat(client, model="m", messages=MESSAGES, retry=NO_RETRY).until_done()


def test_midstream_error_keeps_partial_text(server) -> None:
    server.stream(golden("error_midstream"))
    stream = stream_chat(client_for(server), model="m", messages=MESSAGES, retry=NO_RETRY)
    with pytest.raises(ServerStreamError) as info:
        stream.until_done()
    assert info.value.partial_text == "Partial"
    assert stream.partial_result("failed").text == "Partial"


def test_clean_eof_without_finish_is_truncation(server) -> None:
    server.stream(golden("truncated"))
    with pytest.raises(TruncatedStreamError, match="without a finish_reason"):
        stream_chat(client_for(server), model="m", messages=MESSAGES, retry=NO_RETRY).until_done()


def test_dropped_connection_is_reported_as_drop(server) -> None:
    body = golden("plain")
    server.push(Canned(pieces=[body[: len(body) // 2]], abort=True))
    with pytest.raises(StreamDroppedError, match="connection lost after"):
        stream_chat(client_for(server), model="m", messages=MESSAGES, retry=NO_RETRY).until_done()


def test_drop_then_success_is_retried_cleanly(server) -> None:
    body = golden("plain")
    server.push(Canned(pieces=[body[: len(body) // 2]], abort=True))
    server.stream(body)
    events = list(
        stream := stream_chat(client_for(server), model="m", messages=MESSAGES, retry=FAST_RETRY)
    )
    restarts = [e for e in events if isinstance(e, StreamRestarted)]
    assert len(restarts) == 1 and restarts[0].attempt == 2
    result = stream.result()
    assert result.text == "Hello, wörld 👋"
    assert result.attempts == 2


def test_exhaustion_keeps_the_last_error(server) -> None:
    for _ in range(3):
        server.error(503, "overloaded")
    with pytest.raises(RetryExhaustedError, match="gave up after 3 attempts") as info:
        stream_chat(client_for(server), model="m", messages=MESSAGES, retry=FAST_RETRY).until_done()
    assert isinstance(info.value.last_error, EndpointError)
    assert len(server.requests) == 3


def test_async_stream(server) -> None:
    server.stream(golden("n2"), piece=11)

    async def run():
        stream = astream_chat(client_for(server, openai.AsyncOpenAI), model="m", messages=MESSAGES)
        return await stream.until_done()

    result = asyncio.run(run())
    assert result.texts == ["Hello there", "Bonjour à tous"]


def test_async_drop_then_success(server) -> None:
    body = golden("plain")
    server.push(Canned(pieces=[body[:100]], abort=True))
    server.stream(body)

    async def run():
        client = client_for(server, openai.AsyncOpenAI)
        return await astream_chat(
            client, model="m", messages=MESSAGES, retry=FAST_RETRY
        ).until_done()

    result = asyncio.run(run())
    assert result.text == "Hello, wörld 👋" and result.attempts == 2
