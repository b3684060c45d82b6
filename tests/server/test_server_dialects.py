"""The dialect emulations of section 7: each deviation visible in the bytes and in the SDK."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.lib.streaming.chat import ChatCompletionStreamState
from server_helpers import WEATHER_TOOL, chat_body, content_of, events, raw_stream, user

from nbstream.server import TutorServer


def dialect(server: TutorServer, name: str, **params: Any) -> list[Any]:
    body = chat_body(params.pop("prompt", "Hello!"), **params)
    return events(raw_stream(server.base_url, body, {"x-nbstream-fault": f"dialect={name}"})[1])


def choice_chunks(chunks: list[Any]) -> list[dict[str, Any]]:
    return [c for c in chunks if isinstance(c, dict) and c.get("choices")]


def test_vllm_puts_the_last_token_and_finish_in_one_chunk(server: TutorServer) -> None:
    chunks = choice_chunks(dialect(server, "vllm"))
    last = chunks[-1]["choices"][0]
    assert last["finish_reason"] == "stop" and last["delta"]["content"]
    assert "stop_reason" in last and last["stop_reason"] is None
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert content_of(chunks) == content_of(choice_chunks(dialect(server, "ollama")))


def test_vllm_error_style_has_int_code_then_done(server: TutorServer, client: OpenAI) -> None:
    _, data = raw_stream(server.base_url, chat_body(), {"x-nbstream-fault": "dialect=vllm,error=2"})
    tail = events(data)[-2:]
    assert tail[0]["error"]["code"] == 400 and tail[0]["error"]["type"] == "BadRequestError"
    assert tail[1] == "[DONE]"
    with pytest.raises(openai.APIError) as info:
        list(
            client.chat.completions.create(
                model="tutor@dialect=vllm,error=2,retryable=1", messages=user("x"), stream=True
            )
        )
    assert info.value.code == "500"  # the SDK 3.x turns the integer code into a string


def test_ollama_repeats_role_and_breaks_the_sdk_snapshot(
    server: TutorServer, client: OpenAI
) -> None:
    chunks = choice_chunks(dialect(server, "ollama"))
    assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in chunks)
    assert (
        chunks[-1]["choices"][0]["finish_reason"] == "stop"
        and chunks[-1]["choices"][0]["delta"]["content"]
    )
    assert len({c["created"] for c in chunks}) > 1
    state = ChatCompletionStreamState()
    for chunk in client.chat.completions.create(
        model="tutor@dialect=ollama", messages=user("Hello!"), stream=True
    ):
        state.handle_chunk(chunk)
    assert state.current_completion_snapshot.choices[0].message.role.startswith(
        "assistantassistant"
    )


def test_ollama_sends_whole_tool_calls(server: TutorServer) -> None:
    chunks = choice_chunks(
        dialect(server, "ollama", prompt="Weather in Berlin and Rome?", tools=[WEATHER_TOOL])
    )
    with_calls = [c for c in chunks if c["choices"][0]["delta"].get("tool_calls")]
    (whole,) = with_calls
    calls = whole["choices"][0]["delta"]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == [
        '{"location": "Berlin"}',
        '{"location": "Rome"}',
    ]


def test_litellm_repeats_tool_ids_and_fills_usage_choices(
    server: TutorServer, client: OpenAI
) -> None:
    chunks = dialect(
        server,
        "litellm",
        prompt="What's the weather in Berlin?",
        tools=[WEATHER_TOOL],
        stream_options={"include_usage": True},
    )
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in choice_chunks(chunks)
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert len(fragments) > 2 and len({f["id"] for f in fragments}) == 1
    usage_chunk = chunks[-2]
    assert usage_chunk["usage"]["completion_tokens"] > 0 and usage_chunk["choices"]
    state = ChatCompletionStreamState()
    for chunk in client.chat.completions.create(
        model="tutor@dialect=litellm",
        messages=user("What's the weather in Berlin?"),
        tools=[WEATHER_TOOL],
        stream=True,
    ):
        state.handle_chunk(chunk)
    (call,) = state.current_completion_snapshot.choices[0].message.tool_calls or []
    assert call.id.count("call_") == len(fragments)  # the SDK concatenates repeated ids


def test_azure_prelude_is_skipped_by_the_stream_helper(server: TutorServer, client: OpenAI) -> None:
    first = dialect(server, "azure")[0]
    assert first["choices"] == [] and first["object"] == "" and first["id"] == ""
    assert first["prompt_filter_results"][0]["prompt_index"] == 0
    with client.chat.completions.stream(
        model="tutor@dialect=azure", messages=user("Hello!")
    ) as stream:
        final = stream.get_final_completion()
    assert final.id.startswith("chatcmpl-")
    assert (final.choices[0].message.content or "").startswith("Hello!")


def test_llamacpp_null_content_timings_and_lost_errors(server: TutorServer, client: OpenAI) -> None:
    chunks = choice_chunks(dialect(server, "llamacpp"))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert "timings" in chunks[-1] and chunks[-1]["system_fingerprint"].startswith("b6497")
    _, data = raw_stream(
        server.base_url, chat_body(), {"x-nbstream-fault": "dialect=llamacpp,error=3"}
    )
    assert b"\n\nerror: {" in data and data.endswith(b"data: [DONE]\n\n")
    received = list(
        client.chat.completions.create(
            model="tutor@dialect=llamacpp,error=3", messages=user("x"), stream=True
        )
    )
    assert len(received) == 3  # the old error field is silently ignored by the SDK


def test_groq_x_groq_on_first_and_last_chunk(server: TutorServer) -> None:
    chunks = choice_chunks(dialect(server, "groq"))
    assert set(chunks[0]["x_groq"]) == {"id"}
    usage = chunks[-1]["x_groq"]["usage"]
    assert usage["completion_tokens"] == len(chunks) - 2
    assert all("x_groq" not in c for c in chunks[1:-1])
