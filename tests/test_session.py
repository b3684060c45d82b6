"""Conversation memory and the tool loop, against the real tutor server on loopback."""

from __future__ import annotations

import asyncio

import pytest

from nbstream.endpoint import Endpoint
from nbstream.errors import EndpointError
from nbstream.events import ContentDelta, ToolCallStarted
from nbstream.session import ChatSession, RoundStarted, ToolResult
from nbstream.tool_runner import RoundLimitError
from nbstream.tools import ToolRegistry


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.register
    def get_weather(city: str) -> dict:
        """Current weather for a city.

        Args:
            city: the city name
        """
        if city == "Atlantis":
            raise LookupError("no such city")
        return {"city": city, "temperature_c": 21}

    return reg


@pytest.fixture
def session(tutor_endpoint: Endpoint, registry: ToolRegistry) -> ChatSession:
    return ChatSession(endpoint=tutor_endpoint, registry=registry)


def test_history_carries_across_turns(session: ChatSession, tutor_server) -> None:
    first = session.chat("Hello!")
    assert first.text and first.complete
    session.chat("List 5 EU countries")
    assert [m["role"] for m in session.history] == ["user", "assistant", "user", "assistant"]
    assert session.history[1]["content"] == first.text
    assert len(session.turns) == 2


def test_no_history_and_reset(session: ChatSession) -> None:
    session.chat("Hello!")
    _, messages, params, _ = session.request("Again", history=False, system="Be brief.")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert params["model"] == "tutor"
    session.chat("One-off", history=False)
    assert len(session.history) == 2  # the one-off turn was not remembered
    session.reset()
    assert session.history == [] and session.turns == []


def test_settings_are_defaults_and_arguments_win(session: ChatSession) -> None:
    session.settings.update(model="gpt-4.1", max_tokens=5, seed=7)
    _, _, params, _ = session.request("hi", max_tokens=9)
    assert params["model"] == "gpt-4.1" and params["max_tokens"] == 9 and params["seed"] == 7
    result = session.chat("Tell me a story", max_tokens=5)
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 5
    assert result.model == "gpt-4.1"


def test_parallel_tool_calls_run_and_the_answer_uses_them(session: ChatSession) -> None:
    turn = session.turn("What's the weather in Berlin and Paris?", tools=["get_weather"])
    events = list(turn)
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    results = [e.outcome for e in events if isinstance(e, ToolResult)]
    assert [s.name for s in started] == ["get_weather", "get_weather"]
    assert [r.arguments for r in results] == [{"city": "Berlin"}, {"city": "Paris"}]
    assert all(r.ok for r in results)
    assert [e.round for e in events if isinstance(e, RoundStarted)] == [1, 2]
    assert "Berlin" in turn.result.text and "21" in turn.result.text
    roles = [m["role"] for m in session.history]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assert session.history[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    # The next turn works on top of that history (tool messages included).
    assert session.chat("Hello!").complete


def test_a_raising_tool_is_reported_to_the_model(session: ChatSession) -> None:
    turn = session.turn("What's the weather in Atlantis?", tools=["get_weather"])
    outcomes = [e.outcome for e in turn if isinstance(e, ToolResult)]
    assert len(outcomes) == 1 and not outcomes[0].ok
    assert outcomes[0].error == "raised"
    assert "no such city" in outcomes[0].content
    assert turn.result.complete


def test_round_limit_is_a_clear_error(session: ChatSession) -> None:
    session.max_rounds = 1
    with pytest.raises(RoundLimitError, match="1"):
        session.chat("What's the weather in Berlin?", tools=["get_weather"])
    assert session.turns[-1].error


def test_unknown_tool_name_is_a_clear_error(session: ChatSession) -> None:
    with pytest.raises(Exception, match="nope"):
        session.turn("hi", tools=["nope"])


def test_stopping_mid_stream_keeps_the_partial_reply(session: ChatSession) -> None:
    events = iter(session.turn("/tokens 400"))
    seen = ""
    for event in events:
        if isinstance(event, ContentDelta):
            seen += event.text
            if len(seen) > 50:
                break
    events.close()  # what a Stop button does: the stream is closed mid-reply
    record = session.turns[-1]
    assert record.interrupted and record.result is not None
    assert record.result.text == seen
    assert session.history[-1] == {"role": "assistant", "content": seen}


def test_failure_is_recorded_and_raised(tutor_endpoint: Endpoint) -> None:
    session = ChatSession(endpoint=tutor_endpoint)
    with pytest.raises(EndpointError, match="not found"):
        session.chat("hi", model="no-such-model")
    assert session.turns[-1].error and "not found" in session.turns[-1].error


def test_concurrent_async_turns(session: ChatSession) -> None:
    async def both():
        return await asyncio.gather(
            session.achat("Hello!", history=False),
            session.achat("List 5 EU countries", history=False),
        )

    hello, countries = asyncio.run(both())
    assert hello.text != countries.text
    assert hello.complete and countries.complete


@pytest.mark.parametrize("dialect", ["ollama", "litellm", "vllm", "llamacpp", "azure", "groq"])
def test_the_tool_loop_works_in_every_server_dialect(session: ChatSession, dialect: str) -> None:
    # Ollama sends whole tool calls in one chunk with the role on every chunk; LiteLLM repeats
    # the tool id on every fragment; vLLM puts content and finish_reason together; ...
    turn = session.turn(
        "What's the weather in Berlin and Paris?",
        tools=["get_weather"],
        model=f"tutor@dialect={dialect}",
    )
    outcomes = [e.outcome for e in turn if isinstance(e, ToolResult)]
    assert [o.arguments for o in outcomes] == [{"city": "Berlin"}, {"city": "Paris"}]
    assert all(o.ok for o in outcomes)
    calls = session.history[1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_weather"]
    assert len({c["id"] for c in calls}) == 2 and all(len(c["id"]) < 40 for c in calls)
    assert "Berlin" in turn.result.text
