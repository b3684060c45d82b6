"""The official openai client (sync and async) against the tutor: every honoured parameter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from server_helpers import STOCK_TOOL, WEATHER_TOOL, run_async, user

from nbstream.server import TutorServer
from nbstream.server.models import ALIASES


def stream_text(client: OpenAI, **params: Any) -> tuple[str, list[ChatCompletionChunk]]:
    chunks = list(client.chat.completions.create(stream=True, **params))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_sync_stream_and_plain_agree(client: OpenAI) -> None:
    text, chunks = stream_text(client, model="tutor", messages=user("Explain quantum computing"))
    plain = client.chat.completions.create(
        model="tutor", messages=user("Explain quantum computing")
    )
    assert plain.choices[0].message.content == text
    assert plain.choices[0].finish_reason == "stop"
    assert plain.object == "chat.completion"
    assert "## Quantum computing" in text and "```python" in text and "1. **Superposition**" in text
    assert plain.usage is not None and plain.usage.completion_tokens == len(chunks) - 2


def test_async_stream(server: TutorServer) -> None:
    async def scenario() -> tuple[str, CompletionUsage | None, int]:
        async with AsyncOpenAI(base_url=server.base_url, api_key="tutor") as aclient:
            stream = await aclient.chat.completions.create(
                model="tutor",
                messages=user("List 5 EU countries"),
                stream=True,
                stream_options={"include_usage": True},
            )
            parts, usage = [], None
            async for chunk in stream:
                if chunk.choices:
                    parts.append(chunk.choices[0].delta.content or "")
                else:
                    usage = chunk.usage
        return "".join(parts), usage, len([p for p in parts if p])

    text, usage, deltas = run_async(scenario())
    for country in ("Germany", "France", "Italy", "Spain", "Poland"):
        assert country in text
    assert usage is not None and usage.completion_tokens == deltas


def test_async_stream_helper_final_completion(server: TutorServer) -> None:
    async def scenario() -> ChatCompletion:
        async with (
            AsyncOpenAI(base_url=server.base_url, api_key="tutor") as aclient,
            aclient.chat.completions.stream(model="gpt-4.1", messages=user("Hello!")) as s,
        ):
            return await s.get_final_completion()

    final = run_async(scenario())
    assert final.model == "gpt-4.1"
    assert final.choices[0].message.role == "assistant"
    assert (final.choices[0].message.content or "").startswith("Hello!")


@pytest.mark.parametrize(
    "prompt, needle",
    [
        ("Explain the importance of fast language models", "Time to first token"),
        ("Tell me a story", "## The Lighthouse Keeper's Robot"),
        ("Say this is a test", "This is a test."),
        ("What is 12 * (3 + 4)?", "**84**"),
        ("Why is the sky green on Tuesdays?", "offline tutor model"),
    ],
)
def test_scripted_and_honest_answers(client: OpenAI, prompt: str, needle: str) -> None:
    reply = client.chat.completions.create(model="tutor", messages=user(prompt))
    assert needle in (reply.choices[0].message.content or "")


def test_unknown_prompt_explains_how_to_use_a_real_endpoint(client: OpenAI) -> None:
    reply = client.chat.completions.create(model="tutor", messages=user("Summarise my inbox"))
    text = reply.choices[0].message.content or ""
    assert "OPENAI_BASE_URL" in text and "What I can demonstrate" in text


@pytest.mark.parametrize(
    "model", ["gpt-4.1", "gpt-5", "Llama-3.3-70B-Instruct", "llama-3.3-70b-versatile"]
)
def test_aliases_answer_and_echo_the_name(client: OpenAI, model: str) -> None:
    text, chunks = stream_text(client, model=model, messages=user("Hello!"))
    assert all(c.model == model for c in chunks)
    assert text.startswith("Hello!")


def test_models_endpoint_lists_tutor_aliases_and_recordings(client: OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "tutor"
    assert set(ALIASES) <= set(ids)
    assert "replay:first-stream" in ids
    assert client.models.retrieve("gpt-5").id == "gpt-5"


def test_max_tokens_and_max_completion_tokens_cut_with_length(client: OpenAI) -> None:
    for param in ("max_tokens", "max_completion_tokens"):
        _, chunks = stream_text(
            client, model="tutor", messages=user("Tell me a story"), **{param: 5}
        )
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
        assert finish == "length"
        assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 5
    both = client.chat.completions.create(
        model="tutor", messages=user("Tell me a story"), max_tokens=50, max_completion_tokens=3
    )
    assert both.usage is not None and both.usage.completion_tokens == 3


def test_stop_sequence_is_never_streamed(client: OpenAI) -> None:
    full = client.chat.completions.create(model="tutor", messages=user("Tell me a story"))
    content = full.choices[0].message.content or ""
    text, chunks = stream_text(
        client, model="tutor", messages=user("Tell me a story"), stop=["Pip"]
    )
    assert text == content[: content.index("Pip")]
    assert "Pi" not in text[-2:]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    # A stop string that straddles tokens is held back, not leaked and then retracted.
    text, _ = stream_text(client, model="tutor", messages=user("/echo abc def ghi"), stop=["c de"])
    assert text == "ab"


def test_n_seed_and_temperature(client: OpenAI) -> None:
    reply = client.chat.completions.create(model="tutor", messages=user("Hello!"), n=4, seed=3)
    assert [c.index for c in reply.choices] == [0, 1, 2, 3]
    again = client.chat.completions.create(model="tutor", messages=user("Hello!"), n=4, seed=3)
    assert [c.message.content for c in again.choices] == [c.message.content for c in reply.choices]
    cold = client.chat.completions.create(
        model="tutor", messages=user("Hello!"), n=3, temperature=0, top_p=0.5
    )
    assert len({c.message.content for c in cold.choices}) == 1
    seeds = {
        client.chat.completions.create(model="tutor", messages=user("Hello!"), seed=s)
        .choices[0]
        .message.content
        for s in range(12)
    }
    assert len(seeds) > 1  # the seed changes the reply


def test_json_object_reply_is_valid_json(client: OpenAI) -> None:
    text, _ = stream_text(
        client,
        model="tutor",
        messages=user("List 5 EU countries as JSON"),
        response_format={"type": "json_object"},
    )
    data = json.loads(text)
    assert [c["name"] for c in data["countries"]][:2] == ["Germany", "France"]
    other = client.chat.completions.create(
        model="tutor",
        messages=user("Explain quantum computing in JSON"),
        response_format={"type": "json_object"},
    )
    assert "answer" in json.loads(other.choices[0].message.content or "")


def test_json_schema_reply_matches_the_schema(client: OpenAI) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "score": {"type": "integer"},
            "ok": {"type": "boolean"},
        },
        "required": ["summary", "score", "ok"],
    }
    reply = client.chat.completions.create(
        model="tutor",
        messages=user("Rate streaming"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "rating", "schema": schema},
        },
    )
    data = json.loads(reply.choices[0].message.content or "")
    assert (
        isinstance(data["summary"], str) and isinstance(data["score"], int) and data["ok"] is True
    )


def test_logprobs_per_chunk(client: OpenAI) -> None:
    _, chunks = stream_text(
        client, model="tutor", messages=user("Hello!"), logprobs=True, top_logprobs=3
    )
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    for c in content_chunks:
        logprobs = c.choices[0].logprobs
        assert logprobs is not None and logprobs.content is not None
        (entry,) = logprobs.content
        assert entry.token == c.choices[0].delta.content
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].token == entry.token
    plain = client.chat.completions.create(model="tutor", messages=user("Hello!"), logprobs=True)
    assert plain.choices[0].logprobs is not None and plain.choices[0].logprobs.content


def test_tool_call_streams_in_fragments(client: OpenAI) -> None:
    _, chunks = stream_text(
        client, model="tutor", messages=user("What's the weather in Berlin?"), tools=[WEATHER_TOOL]
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant" and deltas[0].content is None
    fragments = [d.tool_calls[0] for d in deltas if d.tool_calls]
    functions = [f.function for f in fragments if f.function is not None]
    assert len(functions) == len(fragments) > 3
    assert (fragments[0].id or "").startswith("call_") and functions[0].name == "get_weather"
    assert functions[0].arguments == ""
    assert all(f.id is None for f in fragments[1:]) and all(f.name is None for f in functions[1:])
    arguments = "".join(f.arguments or "" for f in functions)
    assert json.loads(arguments) == {"location": "Berlin"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_parallel_tool_calls_and_state_helper(client: OpenAI) -> None:
    state = ChatCompletionStreamState()
    for chunk in client.chat.completions.create(
        model="tutor",
        messages=user("What's the weather in Berlin, Paris and Tokyo? And the price of AAPL?"),
        tools=[WEATHER_TOOL, STOCK_TOOL],
        stream=True,
    ):
        state.handle_chunk(chunk)
    calls = state.current_completion_snapshot.choices[0].message.tool_calls or []
    got = [(c.function.name, json.loads(c.function.arguments)) for c in calls]
    assert got == [
        ("get_weather", {"location": "Berlin"}),
        ("get_weather", {"location": "Paris"}),
        ("get_weather", {"location": "Tokyo"}),
        ("get_stock_price", {"ticker": "AAPL"}),
    ]
    assert len({c.id for c in calls}) == 4
    single = client.chat.completions.create(
        model="tutor",
        messages=user("What's the weather in Berlin, Paris and Tokyo?"),
        tools=[WEATHER_TOOL],
        parallel_tool_calls=False,
    )
    assert len(single.choices[0].message.tool_calls or []) == 1


def test_tool_choice_none_required_and_named(client: OpenAI) -> None:
    none = client.chat.completions.create(
        model="tutor",
        messages=user("What's the weather in Oslo?"),
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    assert none.choices[0].message.tool_calls is None and none.choices[0].finish_reason == "stop"
    required = client.chat.completions.create(
        model="tutor", messages=user("Hello!"), tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert (
        required.choices[0].message.tool_calls and required.choices[0].finish_reason == "tool_calls"
    )
    named = client.chat.completions.create(
        model="tutor",
        messages=user("Tell me about Lisbon"),
        tools=[WEATHER_TOOL, STOCK_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    (call,) = named.choices[0].message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
        "location": "Lisbon"
    }
    assert named.choices[0].finish_reason == "stop"  # named choice, as vLLM documents OpenAI


def test_reply_uses_tool_results(client: OpenAI) -> None:
    first = client.chat.completions.create(
        model="tutor", messages=user("What's the weather in Berlin?"), tools=[WEATHER_TOOL]
    )
    (call,) = first.choices[0].message.tool_calls or []
    messages = [
        *user("What's the weather in Berlin?"),
        first.choices[0].message.model_dump(exclude_none=True),
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": json.dumps({"temperature": 18, "sky": "sunny"}),
        },
    ]
    text, _ = stream_text(client, model="tutor", messages=messages, tools=[WEATHER_TOOL])
    assert "**Berlin**" in text and "temperature: 18" in text and "sky: sunny" in text


def test_pacing_per_server_and_per_request(server: TutorServer, client: OpenAI) -> None:
    import time

    from nbstream.testing import running_server

    start = time.perf_counter()
    stream_text(client, model="tutor@tps=100,ttft=200", messages=user("/tokens 20"))
    assert 0.35 < time.perf_counter() - start < 2.0  # 0.2 s + 20 tokens at 100/s
    with (
        running_server(tokens_per_second=200, ttft_ms=100) as paced,
        OpenAI(base_url=paced.base_url, api_key="x", max_retries=0) as slow,
    ):
        start = time.perf_counter()
        stream = slow.chat.completions.create(
            model="tutor", messages=user("/tokens 40"), stream=True
        )
        times = [time.perf_counter() - start for _ in stream]
        assert times[0] >= 0.09
        assert 0.25 < times[-1] < 1.5  # 0.1 s + 40 tokens at 200/s
        start = time.perf_counter()
        fast = slow.with_options(default_headers={"x-nbstream-pace": "tps=0,ttft=0"})
        list(fast.chat.completions.create(model="tutor", messages=user("/tokens 40"), stream=True))
        assert time.perf_counter() - start < times[-1] / 2
    start = time.perf_counter()
    _, chunks = stream_text(client, model="tutor@tps=50", messages=user("/tokens 20"), n=2)
    assert len(chunks) == 2 + 40 + 2
    assert 0.35 < time.perf_counter() - start < 0.75  # each choice at 50/s: 0.4 s, not 0.8 s
