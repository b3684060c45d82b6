"""The tutor model's pure parts: tokenizer, /tokens documents, answers, tool planning, specs."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbstream.server.answers import EU_MEMBERS, answer
from nbstream.server.faults import FaultBook, SpecError, merge_specs, parse_spec
from nbstream.server.longdoc import parse_tokens_command, token_document
from nbstream.server.models import parse_model
from nbstream.server.tokens import count_tokens, split_tokens
from nbstream.server.toolcalls import plan_tool_calls, tool_result_reply

from server_helpers import STOCK_TOOL, WEATHER_TOOL  # isort: skip


@given(st.text())
def test_tokens_join_back_and_are_small(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert all(1 <= len(p) <= 6 for p in pieces)


def test_tokens_look_like_word_pieces() -> None:
    assert split_tokens("Hello, world! Explain quantum computing.") == [
        "Hello", ",", " world", "!", " Exp", "lain", " qua", "ntum", " comp", "uting", ".",
    ]  # fmt: skip
    assert count_tokens([{"role": "user", "content": "Hello!"}]) == 3 + 3 + 1 + 2


def test_token_document_is_exact_and_lazy() -> None:
    for count in (0, 1, 2, 99, 1234):
        assert sum(1 for _ in token_document(count)) == count
    huge = token_document(200_000)
    assert len(list(itertools.islice(huge, 10))) == 10  # nothing is built up front
    assert sum(1 for _ in token_document(200_000)) == 200_000
    assert parse_tokens_command("/tokens 50 plain") == (50, False)
    assert parse_tokens_command("/tokens 7") == (7, True)
    assert parse_tokens_command("tokens 7") is None
    plain = "".join(token_document(200, markdown=False))
    assert "#" not in plain and "```" not in plain


def test_eu_answer_is_truthful_for_any_count() -> None:
    assert len(EU_MEMBERS) == 27
    text = answer("List 5 EU countries")
    assert text.count("\n1. ") + text.count("\n2. ") == 2 and "(capital: Berlin)" in text
    assert "27." in answer("Name 27 European Union countries")
    assert answer("Hello!").startswith("Hello!")
    assert answer("Hello! Explain quantum computing please").startswith("## Quantum computing")


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("What's the weather in Berlin?", [("get_weather", {"location": "Berlin"})]),
        (
            "weather in san francisco in fahrenheit",
            [("get_weather", {"location": "San Francisco", "unit": "fahrenheit"})],
        ),
        (
            "Compare the stock prices of AAPL and MSFT",
            [("get_stock_price", {"ticker": "AAPL"}), ("get_stock_price", {"ticker": "MSFT"})],
        ),
        ("Explain quantum computing", []),
    ],
)
def test_tool_planning(prompt: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    calls = plan_tool_calls((WEATHER_TOOL, STOCK_TOOL), "auto", prompt, True)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == expected


def test_tool_result_reply_quotes_results() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in Rome?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Rome"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "22 degrees and clear"},
    ]
    reply = tool_result_reply(messages) or ""
    assert "**Rome** (from `get_weather`): 22 degrees and clear" in reply
    assert tool_result_reply(messages[:1]) is None


def test_fault_spec_grammar() -> None:
    spec = parse_spec("drop=5, stall=0.3, after=2, times=1, id=abc, dialect=VLLM")
    assert (spec.drop, spec.stall, spec.after, spec.times, spec.dialect) == (5, 0.3, 2, 1, "vllm")
    assert parse_spec("no_done").no_done and parse_spec("error=2,retryable=1").retryable
    assert parse_spec("status=429,retry_after=1.5,should_retry=0").should_retry is False
    assert parse_spec(None) == parse_spec("")
    for bad in ("drop", "stall=1e9", "status=200", "retry_after=1", "dialect=x", "what=1"):
        with pytest.raises(SpecError):
            parse_spec(bad)
    merged = merge_specs(parse_spec("drop=1,tps=5"), parse_spec("drop=3"))
    assert (merged.drop, merged.tps) == (3, 5)


def test_times_counts_per_exact_spec() -> None:
    book = FaultBook()
    once, other = parse_spec("drop=1,times=1,id=a"), parse_spec("drop=1,times=1,id=b")
    assert book.admit(once).drop == 1
    assert book.admit(once).drop is None
    assert book.admit(other).drop == 1
    paced = parse_spec("drop=1,times=1,id=c,tps=9,dialect=groq")
    book.admit(paced)
    after = book.admit(paced)
    assert (after.drop, after.tps, after.dialect) == (None, 9, "groq")


def test_model_names() -> None:
    name = parse_model("gpt-4.1@drop=3,times=1")
    assert (name.name, name.spec, name.known, name.replay) == (
        "gpt-4.1",
        "drop=3,times=1",
        True,
        None,
    )
    assert parse_model("replay:first-stream@speed=2").replay == "first-stream"
    assert not parse_model("gpt-7").known


def test_continue_instruction_resumes_a_word_early() -> None:
    from nbstream.server.params import validate_request
    from nbstream.server.tutor import compose
    from nbstream.splice import CONTINUE_INSTRUCTION

    story = answer("Tell me a story")
    partial = story[:120]
    messages = [
        {"role": "user", "content": "Tell me a story"},
        {"role": "assistant", "content": partial},
        {"role": "user", "content": CONTINUE_INSTRUCTION},
    ]
    rest = "".join(compose(validate_request({"model": "tutor", "messages": messages})).tokens)
    overlap = len(partial) - story.index(rest)
    assert story.endswith(rest) and 3 <= overlap < 40  # repeats the last word or so
    messages[1]["content"] = "Something else entirely"
    again = "".join(compose(validate_request({"model": "tutor", "messages": messages})).tokens)
    assert again.endswith(story) and again.startswith("I cannot find where that reply stopped")
