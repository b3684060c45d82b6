"""Every injected fault, seen the way a client sees it: SDK exceptions and raw bytes."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from server_helpers import chat_body, events, raw_stream, run_async, user

from nbstream.server import TutorServer
from nbstream.testing import running_server

STORY = user("Tell me a story")


def chunks_before(error: type[Exception], client: OpenAI, model: str) -> tuple[int, Exception]:
    """Stream `model` until `error` is raised; return how many chunks came first, and it."""
    received = 0
    with pytest.raises(error) as info:
        for _ in client.chat.completions.create(model=model, messages=STORY, stream=True):
            received += 1
    return received, info.value


def faulty(client: OpenAI, spec: str, **kwargs: Any) -> OpenAI:
    return client.with_options(default_headers={"x-nbstream-fault": spec}, **kwargs)


def test_drop_after_k_chunks_is_a_connection_error(client: OpenAI) -> None:
    received, error = chunks_before(openai.APIConnectionError, client, "tutor@drop=4")
    assert received == 4
    assert isinstance(error.__cause__, Exception)
    assert "incomplete chunked read" in str(error.__cause__)


def test_drop_seen_raw_by_httpx(server: TutorServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        raw_stream(server.base_url, chat_body("Tell me a story"), {"x-nbstream-fault": "drop=2"})
    # A drop larger than the reply still drops, just before [DONE].
    with pytest.raises(httpx.RemoteProtocolError):
        raw_stream(server.base_url, chat_body("Hello!"), {"x-nbstream-fault": "drop=100000"})


def test_drop_async(server: TutorServer) -> None:
    async def scenario() -> tuple[int, BaseException | None]:
        count = 0
        async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as aclient:
            stream = await aclient.chat.completions.create(
                model="tutor@drop=3", messages=STORY, stream=True
            )
            try:
                async for _ in stream:
                    count += 1
            except openai.APIConnectionError as exc:
                return count, exc
        return count, None

    count, error = run_async(scenario())
    assert count == 3 and isinstance(error, openai.APIConnectionError)


def test_drop_times_once_then_success(client: OpenAI) -> None:
    spec = "drop=2,times=1,id=drop-once"
    with pytest.raises(openai.APIConnectionError):
        list(
            faulty(client, spec).chat.completions.create(model="tutor", messages=STORY, stream=True)
        )
    chunks = list(
        faulty(client, spec).chat.completions.create(model="tutor", messages=STORY, stream=True)
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    # Another id keeps its own counter.
    with pytest.raises(openai.APIConnectionError):
        list(faulty(client, "drop=2,times=1,id=other").chat.completions.create(
            model="tutor", messages=STORY, stream=True
        ))  # fmt: skip


def test_drop_non_streaming_is_retried_by_the_sdk(client: OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="tutor@drop=1", messages=STORY)
    retrying = client.with_options(max_retries=1)
    reply = retrying.chat.completions.create(
        model="tutor@drop=1,times=1,id=plain-drop", messages=STORY
    )
    assert reply.choices[0].message.content


def test_stall_longer_than_read_timeout_times_out(client: OpenAI) -> None:
    impatient = faulty(client, "stall=1.5,after=2", timeout=httpx.Timeout(0.3, connect=2))
    received = 0
    with pytest.raises(openai.APITimeoutError):
        for _ in impatient.chat.completions.create(model="tutor", messages=STORY, stream=True):
            received += 1
    assert received == 2


def test_stall_then_continue(client: OpenAI) -> None:
    start = time.perf_counter()
    stamps = [
        time.perf_counter() - start
        for _ in faulty(client, "stall=0.5,after=3").chat.completions.create(
            model="tutor", messages=user("Hello!"), stream=True
        )
    ]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps[2] >= 0.48  # between chunk 3 and chunk 4
    assert max(gaps[:2] + gaps[3:]) < 0.25
    assert len(stamps) > 10


def test_429_with_retry_after_and_sdk_retry(server: TutorServer, client: OpenAI) -> None:
    response = httpx.post(
        server.base_url + "/chat/completions",
        json=chat_body(),
        headers={"x-nbstream-fault": "status=429,retry_after=0.05"},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.05"
    assert response.headers["retry-after-ms"] == "50"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="tutor@status=429", messages=user("hi"))
    assert info.value.code == "rate_limit_exceeded" and info.value.type == "requests"
    retrying = faulty(client, "status=429,retry_after=0.05,times=2,id=rl", max_retries=2)
    start = time.perf_counter()
    stream = retrying.chat.completions.create(model="tutor", messages=user("hi"), stream=True)
    assert list(stream)[-1].choices[0].finish_reason == "stop"
    assert time.perf_counter() - start >= 0.1  # two waits of retry-after-ms


@pytest.mark.parametrize(
    "status, error", [(500, openai.InternalServerError), (503, openai.InternalServerError)]
)
def test_5xx_statuses(client: OpenAI, status: int, error: type[openai.APIStatusError]) -> None:
    with pytest.raises(error) as info:
        client.chat.completions.create(
            model=f"tutor@status={status}", messages=user("hi"), stream=True
        )
    assert info.value.status_code == status
    assert info.value.type == "server_error"
    recovered = faulty(
        client, f"status={status},retry_after=0.01,times=1,id=s{status}", max_retries=1
    )
    assert recovered.chat.completions.create(model="tutor", messages=user("hi")).choices


def test_should_retry_false_stops_sdk_retries(server: TutorServer, client: OpenAI) -> None:
    spec = "status=503,retry_after=0.01,should_retry=0,times=1,id=no-retry"
    with pytest.raises(openai.InternalServerError) as info:
        faulty(client, spec, max_retries=2).chat.completions.create(
            model="tutor", messages=user("hi")
        )
    assert info.value.response.headers["x-should-retry"] == "false"


def test_mid_stream_error_event(server: TutorServer, client: OpenAI) -> None:
    received, error = chunks_before(openai.APIError, client, "tutor@error=3")
    assert received == 3 and isinstance(error, openai.APIError)
    assert error.code == "stream_error" and error.type == "invalid_request_error"
    with pytest.raises(openai.APIError) as retryable:
        list(
            client.chat.completions.create(
                model="tutor@error=1,retryable=1", messages=STORY, stream=True
            )
        )
    assert retryable.value.code == "server_error" and retryable.value.type == "server_error"
    _, data = raw_stream(
        server.base_url, chat_body("Tell me a story"), {"x-nbstream-fault": "error=2"}
    )
    tail = events(data)
    assert len(tail) == 3 and "error" in tail[-1] and b"[DONE]" not in data
    plain = httpx.post(server.base_url + "/chat/completions", json=chat_body(model="tutor@error=1"))
    assert plain.status_code == 500


def test_no_done_ends_cleanly_without_marker(server: TutorServer, client: OpenAI) -> None:
    _, data = raw_stream(server.base_url, chat_body(), {"x-nbstream-fault": "no_done"})
    assert b"[DONE]" not in data and data.endswith(b"\n\n")
    chunks = list(
        client.chat.completions.create(model="tutor@no_done", messages=user("Hello!"), stream=True)
    )
    assert chunks[-1].choices[0].finish_reason == "stop"  # the SDK cannot tell: no error


def test_server_wide_faults_and_header_override() -> None:
    with (
        running_server(faults="status=503,times=1") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        with pytest.raises(openai.InternalServerError):
            c.chat.completions.create(model="tutor", messages=user("hi"))
        assert c.chat.completions.create(model="tutor", messages=user("hi")).choices
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="tutor@status=429", messages=user("hi"))


def test_bad_specs_are_400(server: TutorServer) -> None:
    for spec in ("drop", "drop=x", "status=418", "dialect=gemini", "after=2", "stall=-1", "boom=1"):
        response = httpx.post(
            server.base_url + "/chat/completions",
            json=chat_body(),
            headers={"x-nbstream-fault": spec},
        )
        assert response.status_code == 400, spec
        assert "x-nbstream-fault" in response.json()["error"]["message"]
    pace = httpx.post(
        server.base_url + "/chat/completions",
        json=chat_body(),
        headers={"x-nbstream-pace": "drop=1"},
    )
    assert pace.status_code == 400
    with pytest.raises(ValueError, match="unknown item"):
        TutorServer(faults="explode=1")


def test_stop_ends_stalled_streams_quickly() -> None:
    srv = TutorServer(faults="stall=30,after=1").start()
    client = OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(model="tutor", messages=STORY, stream=True)
    next(iter(stream))
    start = time.perf_counter()
    srv.stop()
    assert time.perf_counter() - start < 2.0
    assert not srv.running
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    client.close()
