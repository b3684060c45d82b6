"""Checks for the exercises that read streams: asking, SSE parsing, accumulating, tool calls."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import _streams as s
from ._report import Issues, call, differ, run_cases

__all__ = [
    "check_accumulator",
    "check_ask",
    "check_dialects",
    "check_sse_parser",
    "check_tool_calls",
]

Chunk = s.Chunk
Case = tuple[str, Callable[[], Issues]]


def check_ask(ask: Callable[[str], str]) -> None:
    """Exercise 00: `ask(prompt) -> str` returns the model's whole reply text."""

    def case(prompt: str) -> Case:
        def test() -> Issues:
            expected = s.reply_text(prompt)
            got = call(ask, prompt)
            return [] if got == expected else [differ("reply", expected, got)]

        return repr(prompt), test

    run_cases([case(p) for p in (s.PROMPT, "Say this is a test", "count to 5")])


def check_sse_parser(parse: Callable[[bytes], list[Chunk]]) -> None:
    """Exercise 01: `parse(body) -> [chunk, ...]`, every JSON chunk of a raw SSE body."""

    def case(name: str, raw: Callable[[], bytes]) -> Case:
        def test() -> Issues:
            body = raw()
            expected = s.chunks_of(body)
            got = call(parse, body)
            if not isinstance(got, list):
                return [f"expected a list of dicts, got {type(got).__name__}"]
            if len(got) != len(expected):
                return [differ("number of chunks", len(expected), len(got))]
            for i, (want, have) in enumerate(zip(expected, got, strict=True)):
                if want != have:
                    return [differ(f"chunk {i}", want, have)]
            return []

        return name, test

    run_cases(
        [
            case("plain", lambda: s.body()),
            case("usage chunk (choices: [])", lambda: s.body(usage=True)),
            case("keep-alive comments", lambda: s.with_comments(s.body())),
            case("CRLF line endings", lambda: s.body().replace(b"\n", b"\r\n")),
            case("`data:` with no space", lambda: s.body().replace(b"data: ", b"data:")),
            case("no [DONE]", lambda: s.body(fault="no_done")),
            case("cut off in the middle of an event", lambda: s.cut_mid_event(s.body())),
        ]
    )


# -- accumulating ---------------------------------------------------------------------------


def _usage3(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, Mapping):
        return None
    return {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


def _compare_choice(position: int, want: Mapping[str, Any], have: Mapping[str, Any]) -> Issues:
    issues: Issues = []
    message = have.get("message")
    message = message if isinstance(message, Mapping) else {}
    where = f"choices[{position}]"
    for field in ("role", "content"):
        expected = want["message"][field] or ""
        if (message.get(field) or "") != expected:
            issues.append(differ(f"{where}.message.{field}", expected, message.get(field)))
    if have.get("finish_reason") != want["finish_reason"]:
        issues.append(
            differ(f"{where}.finish_reason", want["finish_reason"], have.get("finish_reason"))
        )
    return issues


def compare_completion(expected: Mapping[str, Any], got: Any) -> Issues:
    """What differs between the learner's completion dict and the reference, field by field."""
    if not isinstance(got, Mapping):
        return [f"expected a dict with 'model', 'choices' and 'usage', got {type(got).__name__}"]
    issues: Issues = []
    if got.get("model") != expected["model"]:
        issues.append(differ("model", expected["model"], got.get("model")))
    choices = got.get("choices")
    if not isinstance(choices, list):
        return [*issues, differ("choices", "a list", choices)]
    if len(choices) != len(expected["choices"]):
        issues.append(differ("number of choices", len(expected["choices"]), len(choices)))
    for position, want in enumerate(expected["choices"]):
        have = next(
            (c for c in choices if isinstance(c, Mapping) and c.get("index") == want["index"]),
            None,
        )
        if have is None:
            issues.append(f"choices: no choice with index {want['index']}")
        else:
            issues += _compare_choice(position, want, have)
    want_usage = _usage3(expected["usage"])
    if want_usage != _usage3(got.get("usage")):
        issues.append(differ("usage", want_usage, got.get("usage")))
    return issues


def _accumulator_cases(
    accumulate: Callable[[list[Chunk]], Any], streams: Sequence[tuple[str, Callable[[], bytes]]]
) -> list[Case]:
    def case(name: str, raw: Callable[[], bytes]) -> Case:
        def test() -> Issues:
            chunks = s.chunks_of(raw())
            expected = s.reference(chunks)
            return compare_completion(expected, call(accumulate, copy.deepcopy(chunks)))

        return name, test

    return [case(name, raw) for name, raw in streams]


def check_accumulator(accumulate: Callable[[list[Chunk]], Any]) -> None:
    """Exercise 02: `accumulate(chunks) -> {"model", "choices", "usage"}` (a completion dict)."""
    streams = [
        ("plain", lambda: s.body()),
        ("usage chunk (choices: [])", lambda: s.body(usage=True)),
        ("n=2 (two choices, interleaved)", lambda: s.body(usage=True, n=2, seed=1)),
        ("usage chunk with choices: null", lambda: s.choices_null(s.body(usage=True))),
        ("no [DONE]", lambda: s.body(fault="no_done")),
        ("cut off (no finish_reason)", lambda: s.cut_mid_event(s.body(), keep=6)),
        ("a longer reply", lambda: s.body("Write a haiku about recursion", usage=True)),
    ]
    run_cases(_accumulator_cases(accumulate, streams))


def check_dialects(accumulate: Callable[[list[Chunk]], Any]) -> None:
    """Exercise 08: the contract of exercise 02, on every dialect the tutor emulates."""

    def dialect(name: str, **kw: Any) -> Callable[[], bytes]:
        return lambda: s.body(fault=f"dialect={name}", **kw)

    streams = [
        ("OpenAI (the reference)", lambda: s.body(usage=True)),
        ("vLLM: last token and finish in one chunk", dialect("vllm", usage=True)),
        ("Ollama: role in every chunk", dialect("ollama", usage=True)),
        ("Ollama with n=2", dialect("ollama", usage=True, n=2, seed=1)),
        ("LiteLLM: usage chunk with a choice", dialect("litellm", usage=True)),
        ("Azure: a prelude with empty id and model", dialect("azure", usage=True)),
        ("llama.cpp: content null in the first chunk", dialect("llamacpp", usage=True)),
        ("Groq: usage only in x_groq", dialect("groq")),
    ]
    run_cases(_accumulator_cases(accumulate, streams))


# -- tool calls -----------------------------------------------------------------------------


def _field(tool_call: Any, name: str) -> Any:
    if not isinstance(tool_call, Mapping):
        return None
    if name in tool_call:
        return tool_call[name]
    function = tool_call.get("function")
    return function.get(name) if isinstance(function, Mapping) else None


def check_tool_calls(accumulate_tool_calls: Callable[[list[Chunk]], Any]) -> None:
    """Exercise 03: `accumulate_tool_calls(chunks) -> [{"id", "name", "arguments"}, ...]`."""
    weather = "What's the weather in Berlin?"

    def case(name: str, raw: Callable[[], bytes]) -> Case:
        def test() -> Issues:
            chunks = s.chunks_of(raw())
            message = s.reference(chunks)["choices"][0]["message"]
            expected = [
                {key: _field(c, key) for key in ("id", "name", "arguments")}
                for c in message.get("tool_calls") or []
            ]
            got = call(accumulate_tool_calls, copy.deepcopy(chunks))
            if not isinstance(got, list):
                return [f"expected a list of tool calls, got {type(got).__name__}"]
            if len(got) != len(expected):
                return [differ("number of tool calls", len(expected), len(got))]
            return [
                differ(f"call {i} {key}", value, _field(have, key))
                for i, (want, have) in enumerate(zip(expected, got, strict=True))
                for key, value in want.items()
                if _field(have, key) != value
            ]

        return name, test

    tools = [s.WEATHER_TOOL]
    run_cases(
        [
            case("one call", lambda: s.body(weather, tools=tools)),
            case(
                "two calls in parallel",
                lambda: s.body("What's the weather in Berlin and Paris?", tools=tools),
            ),
            case(
                "two different tools",
                lambda: s.body(
                    "What's the weather in Berlin and the stock price of AAPL?",
                    tools=[s.WEATHER_TOOL, s.STOCK_TOOL],
                ),
            ),
            case(
                "role and first fragment in one chunk",
                lambda: s.role_with_first_fragment(s.body(weather, tools=tools)),
            ),
            case("usage chunk after the calls", lambda: s.body(weather, tools=tools, usage=True)),
            case(
                "LiteLLM: id repeated on every fragment",
                lambda: s.body(weather, fault="dialect=litellm", tools=tools),
            ),
            case(
                "Ollama: the whole call in one chunk",
                lambda: s.body(weather, fault="dialect=ollama", tools=tools),
            ),
            case("no tool call at all", lambda: s.body()),
        ]
    )
