"""Byte-level checks of the stream the tutor server sends (section 9 of the reference)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from server_helpers import chat_body, content_of, events, raw_stream

from nbstream.server import TutorServer

EVENT = re.compile(rb"data: (\{[^\n]*\}|\[DONE\])\n\n")


def test_framing_is_exact(server: TutorServer) -> None:
    response, data = raw_stream(server.base_url, chat_body("Hello!"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in response.headers
    # The whole body is nothing but `data: <one-line JSON>\n\n` events, ending with [DONE].
    assert b"".join(m.group(0) for m in EVENT.finditer(data)) == data
    assert data.endswith(b"data: [DONE]\n\n")
    assert b"\nid:" not in data and not data.startswith(b"id:") and b"event:" not in data


def test_chunk_shape_role_finish_and_no_usage(server: TutorServer) -> None:
    _, data = raw_stream(server.base_url, chat_body("Hello!"))
    chunks = events(data)
    assert chunks[-1] == "[DONE]"
    body = chunks[:-1]
    assert len({(c["id"], c["created"], c["model"], c["object"]) for c in body}) == 1
    assert body[0]["object"] == "chat.completion.chunk" and body[0]["model"] == "tutor"
    assert body[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("role" not in c["choices"][0]["delta"] for c in body[1:])
    for c in body:
        assert "usage" not in c
        (choice,) = c["choices"]
        assert set(choice) == {"index", "delta", "logprobs", "finish_reason"}
    middle = body[1:-1]
    assert middle and all(set(c["choices"][0]["delta"]) == {"content"} for c in middle)
    assert all(c["choices"][0]["finish_reason"] is None for c in body[:-1])
    assert body[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert content_of(body).startswith("Hello! 👋 I'm **tutor**")


def test_include_usage_adds_one_empty_choices_chunk(server: TutorServer) -> None:
    body = chat_body("Explain quantum computing", stream_options={"include_usage": True})
    _, data = raw_stream(server.base_url, body)
    chunks = events(data)[:-1]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert all(c["usage"] is None for c in chunks[:-1])
    usage = usage_chunk["usage"]
    content_deltas = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert usage["completion_tokens"] == len(content_deltas)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 0


def test_same_request_same_bytes(server: TutorServer) -> None:
    body = chat_body("Tell me a story", seed=7, n=2, stream_options={"include_usage": True})
    first = raw_stream(server.base_url, body)[1]
    second = raw_stream(server.base_url, body)[1]
    assert first == second
    other_seed = raw_stream(server.base_url, {**body, "seed": 8})[1]
    assert events(other_seed)[0]["id"] != events(first)[0]["id"]


def test_same_bytes_across_server_restarts() -> None:
    body = chat_body("List 5 EU countries", stream_options={"include_usage": True})
    with TutorServer() as one:
        first = raw_stream(one.base_url, body)[1]
    with TutorServer() as two:
        assert raw_stream(two.base_url, body)[1] == first


def test_n_choices_interleave_in_index_order(server: TutorServer) -> None:
    _, data = raw_stream(server.base_url, chat_body("Hello!", n=3, seed=1))
    chunks = events(data)[:-1]
    assert all(len(c["choices"]) == 1 for c in chunks)
    first_seen = []
    for c in chunks:
        index = c["choices"][0]["index"]
        if index not in first_seen:
            first_seen.append(index)
            assert c["choices"][0]["delta"]["role"] == "assistant"
    assert first_seen == [0, 1, 2]
    finishes = [c["choices"][0]["index"] for c in chunks if c["choices"][0]["finish_reason"]]
    assert sorted(finishes) == [0, 1, 2]
    texts = {content_of(chunks, i) for i in range(3)}
    assert all("tutor" in t for t in texts)


def test_tokens_command_gives_exactly_n_content_chunks(server: TutorServer) -> None:
    for count in (1, 37, 5000):
        body = chat_body(f"/tokens {count}", stream_options={"include_usage": True})
        chunks = events(raw_stream(server.base_url, body)[1])[:-1]
        contents = [c for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]]
        assert len(contents) - 1 == count  # minus the role chunk's content ""
        assert chunks[-1]["usage"]["completion_tokens"] == count
    text = content_of(chunks)
    assert "## " in text and "```python" in text and "- item" in text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_streams_and_ends(server: TutorServer) -> None:
    result = subprocess.run(
        [
            "curl", "-sN", server.base_url + "/chat/completions",
            "-H", "Content-Type: application/json",
            "-d", json.dumps(chat_body("Say this is a test", stream=True)),
        ],
        capture_output=True, timeout=20, check=True,
    )  # fmt: skip
    assert result.stdout.endswith(b"data: [DONE]\n\n")
    assert content_of(events(result.stdout)) == "This is a test.\n"
