"""Running a round of tool calls: results, every kind of failure, timing and threads."""

from __future__ import annotations

import asyncio
import datetime
import enum
import inspect
import itertools
import json
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any, Literal

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream.errors import ToolError
from nbstream.events import ToolCallDone
from nbstream.tool_runner import (
    DEFAULT_MAX_ROUNDS,
    RoundLimitError,
    ToolCallRequest,
    ToolOutcome,
    arun_tool_calls,
    run_tool_calls,
    tool_messages,
)
from nbstream.tools import Tool, ToolRegistry


class Forecast(pydantic.BaseModel):
    city: str
    temp_c: float


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Place(pydantic.BaseModel):
    city: str
    country: str = "FR"


def make_registry(calls: list[str] | None = None) -> ToolRegistry:
    registry = ToolRegistry()
    seen = calls if calls is not None else []

    @registry.register
    def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
        """Weather for a city."""
        seen.append(f"get_weather:{city}")
        return f"{city}: 21 {unit}"

    @registry.register
    def forecast(city: str) -> Forecast:
        return Forecast(city=city, temp_c=21.5)

    @registry.register
    def data() -> dict[str, Any]:
        return {"when": datetime.date(2024, 1, 2), "tags": {"x"}, "text": "é"}

    @registry.register
    def fails(message: str) -> None:
        raise ValueError(message)

    @registry.register
    async def nap(seconds: float, label: str = "") -> str:
        await asyncio.sleep(seconds)
        seen.append(f"nap:{label}")
        return f"slept {label}"

    registry.register({"type": "function", "function": {"name": "declared_only"}})
    return registry


def call(name: str, arguments: str = "{}", id: str | None = None) -> ToolCallRequest:
    return ToolCallRequest(id=id or f"call_{name}", name=name, arguments=arguments)


def run_one(name: str, arguments: str = "{}", **kwargs: Any) -> ToolOutcome:
    return run_tool_calls([call(name, arguments)], make_registry(), **kwargs)[0]


# --- requests and messages --------------------------------------------------------------


def test_requests_from_dicts_and_sdk_objects() -> None:
    wire = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    sdk = SimpleNamespace(id="c2", index=3, function=SimpleNamespace(name="g", arguments=None))
    assert ToolCallRequest.from_openai(wire, index=1) == ToolCallRequest("c1", "f", '{"a":1}', 1)
    assert ToolCallRequest.from_openai(sdk) == ToolCallRequest("c2", "g", "", 3)
    assert ToolCallRequest.from_openai(wire).to_openai() == wire
    done = ToolCallDone(choice=0, index=2, id="c3", name="h", arguments="{}")
    assert ToolCallRequest.from_openai(done) == ToolCallRequest("c3", "h", "{}", 2)
    decoded = {"id": "c4", "function": {"name": "k", "arguments": {"a": 1}}}  # Ollama-style
    assert ToolCallRequest.from_openai(decoded).arguments == '{"a": 1}'


def test_results_are_encoded_for_the_model() -> None:
    outcomes = run_tool_calls(
        [
            call("get_weather", '{"city": "Paris"}'),
            call("forecast", '{"city": "Oslo"}'),
            call("data"),
        ],
        make_registry(),
    )
    assert [o.content for o in outcomes] == [
        "Paris: 21 c",
        '{"city":"Oslo","temp_c":21.5}',
        '{"when": "2024-01-02", "tags": ["x"], "text": "é"}',
    ]
    assert all(o.ok and o.error is None for o in outcomes)
    assert outcomes[0].arguments == {"city": "Paris"}
    assert tool_messages(outcomes)[0] == {
        "role": "tool",
        "tool_call_id": "call_get_weather",
        "content": "Paris: 21 c",
    }


def test_dict_calls_and_plain_tool_lists_are_accepted() -> None:
    tools = [Tool.from_function(lambda x: x * 2, name="double")]
    wire = {"id": "c1", "function": {"name": "double", "arguments": '{"x": 4}'}}
    assert run_tool_calls([wire], tools)[0].content == "8"
    assert run_tool_calls([wire], {"double": tools[0]})[0].content == "8"


def test_empty_and_null_arguments_mean_no_arguments() -> None:
    assert run_one("data", "").ok and run_one("data", "  null ").ok


# --- failures come back as tool results ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "kind", "content"),
    [
        (
            "get_wether",
            "{}",
            "unknown_tool",
            "Error: unknown tool 'get_wether'. Available tools: get_weather, forecast, data,"
            " fails, nap, declared_only.",
        ),
        (
            "get_weather",
            '{"city": "Par',
            "malformed_json",
            "Error: the arguments for get_weather are not valid JSON: Unterminated string"
            " starting at: line 1 column 10 (char 9). Send one JSON object.",
        ),
        (
            "get_weather",
            "{}",
            "invalid_arguments",
            "Error: invalid arguments for get_weather: city: field required",
        ),
        (
            "get_weather",
            '{"city": "P", "unit": "k"}',
            "invalid_arguments",
            "Error: invalid arguments for get_weather: unit: input should be 'c' or 'f'",
        ),
        (
            "get_weather",
            '["Paris"]',
            "invalid_arguments",
            "Error: invalid arguments for get_weather: arguments must be a JSON object, got list",
        ),
        ("fails", '{"message": "no"}', "raised", "Error: fails raised ValueError: no"),
        (
            "declared_only",
            "{}",
            "not_executable",
            "Error: declared_only has no Python function here and cannot run.",
        ),
    ],
)
def test_failures_are_reported_not_raised(
    name: str, arguments: str, kind: str, content: str
) -> None:
    seen: list[str] = []
    outcome = run_tool_calls([call(name, arguments)], make_registry(seen))[0]
    assert (outcome.ok, outcome.error, outcome.content) == (False, kind, content)
    assert seen == []


def test_nothing_the_model_sends_is_evaluated() -> None:
    payloads = [
        "__import__('sys').modules.__setitem__('nbstream_pwned', 1)",
        "{'city': __import__('sys').modules.__setitem__('nbstream_pwned', 1)}",
        "{'city': 'Paris'}",
    ]
    outcomes = run_tool_calls([call("get_weather", p) for p in payloads], make_registry())
    assert {o.error for o in outcomes} == {"malformed_json"}
    assert "nbstream_pwned" not in sys.modules


def test_exceptions_keep_the_original_for_display() -> None:
    outcome = run_one("fails", '{"message": "boom"}')
    assert isinstance(outcome.exception, ValueError)
    assert outcome.summary().startswith("✗ Error: fails raised ValueError: boom [")

    def quits() -> None:
        sys.exit(3)

    assert run_tool_calls([call("quits")], [Tool.from_function(quits)])[0].error == "raised"


# --- timeouts -----------------------------------------------------------------------------


def test_async_and_sync_timeouts() -> None:
    release = threading.Event()

    def blocks() -> str:
        release.wait(5)
        return "late"

    registry = make_registry()
    registry.register(blocks)
    start = time.perf_counter()
    try:
        outcomes = run_tool_calls(
            [call("nap", '{"seconds": 5}'), call("blocks")], registry, timeout=0.2
        )
    finally:
        release.set()
    assert time.perf_counter() - start < 2
    assert [o.error for o in outcomes] == ["timeout", "timeout"]
    assert outcomes[0].content == "Error: nap did not finish within 0.2 s."
    assert all(0.15 < o.duration_s < 2 for o in outcomes)


def test_a_hung_sync_tool_does_not_block_asyncio_run() -> None:
    release = threading.Event()
    tools = [Tool.from_function(lambda: release.wait(5), name="hang")]
    start = time.perf_counter()
    try:
        outcomes = asyncio.run(arun_tool_calls([call("hang")], tools, timeout=0.2))
    finally:
        release.set()
    assert outcomes[0].error == "timeout" and time.perf_counter() - start < 2


# --- confirmation -------------------------------------------------------------------------


def test_confirm_is_asked_before_each_valid_call() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []
    seen: list[str] = []

    def confirm(name: str, arguments: dict[str, Any]) -> bool:
        asked.append((name, arguments))
        return arguments.get("city") == "Paris"

    calls = [
        call("get_weather", '{"city": "Paris"}', "a"),
        call("get_weather", '{"city": "Rome"}', "b"),
        call("get_weather", "{}", "c"),
    ]
    outcomes = run_tool_calls(calls, make_registry(seen), confirm=confirm)
    assert asked == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
    assert seen == ["get_weather:Paris"]
    assert [o.error for o in outcomes] == [None, "declined", "invalid_arguments"]
    assert outcomes[1].content.startswith("Error: the user declined to run get_weather")


def test_async_and_failing_confirm() -> None:
    async def no(name: str, arguments: dict[str, Any]) -> bool:
        return False

    def broken(name: str, arguments: dict[str, Any]) -> bool:
        raise RuntimeError("no terminal")

    assert run_one("data", confirm=no).error == "declined"
    assert asyncio.run(arun_tool_calls([call("data")], make_registry(), confirm=no))[0].error == (
        "declined"
    )
    outcome = run_one("data", confirm=broken)
    assert outcome.error == "declined" and "no terminal" in outcome.content


# --- order, concurrency and threads -------------------------------------------------------


def test_async_calls_run_concurrently_in_both_runners() -> None:
    calls = [
        call("nap", '{"seconds": 0.3, "label": "a"}', "1"),
        call("nap", '{"seconds": 0.3}', "2"),
    ]
    start = time.perf_counter()
    assert all(o.ok for o in run_tool_calls(calls, make_registry()))
    sync_ratio = (time.perf_counter() - start) / 0.6
    start = time.perf_counter()
    assert all(o.ok for o in asyncio.run(arun_tool_calls(calls, make_registry())))
    async_ratio = (time.perf_counter() - start) / 0.6
    assert sync_ratio < 0.8 and async_ratio < 0.8  # one after the other would be >= 1.0


def test_sync_calls_run_one_at_a_time() -> None:
    spans: list[tuple[float, float]] = []

    def work() -> None:
        begin = time.perf_counter()
        time.sleep(0.05)
        spans.append((begin, time.perf_counter()))

    tools = [Tool.from_function(work)]
    run_tool_calls([call("work", id=str(i)) for i in range(3)], tools)
    asyncio.run(arun_tool_calls([call("work", id=str(i)) for i in range(3)], tools))
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


def test_call_order_is_preserved_whatever_finishes_first() -> None:
    seen: list[str] = []
    calls = [
        call("nap", '{"seconds": 0.2, "label": "slow"}', "1"),
        call("get_weather", '{"city": "Paris"}', "2"),
        call("nap", '{"seconds": 0.01, "label": "fast"}', "3"),
        call("nope", "{}", "4"),
    ]
    outcomes = run_tool_calls(calls, make_registry(seen))
    assert seen.index("nap:fast") < seen.index("nap:slow")
    assert [m["tool_call_id"] for m in tool_messages(outcomes)] == ["1", "2", "3", "4"]
    assert [o.content for o in outcomes[:3]] == ["slept slow", "Paris: 21 c", "slept fast"]


def test_sync_runner_inside_a_running_event_loop() -> None:
    asking_threads: list[int] = []

    def confirm(name: str, arguments: dict[str, Any]) -> bool:
        asking_threads.append(threading.get_ident())
        return True

    async def notebook_cell() -> list[ToolOutcome]:
        calls = [call("nap", '{"seconds": 0.01}'), call("get_weather", '{"city": "P"}')]
        return run_tool_calls(calls, make_registry(), confirm=confirm)

    outcomes = asyncio.run(notebook_cell())
    assert [o.ok for o in outcomes] == [True, True]
    assert asking_threads == [threading.get_ident()] * 2


def test_timeout_none_runs_sync_tools_in_the_calling_thread() -> None:
    threads: list[int] = []
    tools = [Tool.from_function(lambda: threads.append(threading.get_ident()), name="where")]
    run_tool_calls([call("where")], tools, timeout=None)
    run_tool_calls([call("where")], tools)
    assert threads[0] == threading.get_ident() != threads[1]


def test_sync_function_returning_a_coroutine_is_awaited() -> None:
    async def later() -> str:
        return "done"

    tools = [Tool.from_function(lambda: later(), name="deferred")]
    assert run_tool_calls([call("deferred")], tools)[0].content == "done"
    assert run_tool_calls([call("deferred")], tools, timeout=None)[0].content == "done"
    assert asyncio.run(arun_tool_calls([call("deferred")], tools))[0].content == "done"


# --- the loop's helpers -------------------------------------------------------------------


def test_round_limit_error() -> None:
    error = RoundLimitError(DEFAULT_MAX_ROUNDS, ["get_weather", "get_weather"])
    assert isinstance(error, ToolError) and DEFAULT_MAX_ROUNDS == 8
    assert str(error) == (
        "stopped after 8 rounds of tool calls without a text reply (last round: get_weather,"
        " get_weather); pass max_rounds=16 to allow more, or check what the tools return"
    )


def test_summary_line() -> None:
    outcome = ToolOutcome("c", "get_weather", True, "Paris: 21 c", None, 0.5, {"city": "Paris"})
    assert outcome.summary() == "✓ get_weather(city='Paris') -> Paris: 21 c [0.50 s]"
    assert outcome.summary(width=20) == "✓ get_weather(city='P… [0.50 s]"


# --- property: valid arguments always reach the function intact ---------------------------

KINDS: dict[str, tuple[Any, st.SearchStrategy[Any], Any]] = {
    "str": (str, st.text(max_size=12), "d"),
    "int": (int, st.integers(), 0),
    "float": (float, st.floats(allow_nan=False) | st.integers(-(2**53), 2**53), 0.5),
    "bool": (bool, st.booleans(), True),
    "ints": (list[int], st.lists(st.integers(), max_size=4), []),
    "maybe": (int | None, st.none() | st.integers(), None),
    "literal": (Literal["a", "b"], st.sampled_from(["a", "b"]), "a"),
    "enum": (Color, st.sampled_from(["red", "blue"]), Color.RED),
    "map": (dict[str, float], st.dictionaries(st.text(max_size=4), st.floats(allow_nan=False)), {}),
    "place": (
        Place,
        st.fixed_dictionaries({"city": st.text()}, optional={"country": st.text()}),
        None,
    ),
}


def plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, pydantic.BaseModel) else value


Case = tuple[list[inspect.Parameter], dict[str, Any], dict[str, Any]]


@st.composite
def signatures_and_arguments(draw: st.DrawFn) -> Case:
    """A random keyword signature, arguments that match it, and what the function should get."""
    parameters, arguments, expected = [], {}, {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(sorted(KINDS)), max_size=6))):
        annotation, strategy, default = KINDS[kind]
        name, optional = f"{kind}_{i}", draw(st.booleans())
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation,
                default=default if optional else inspect.Parameter.empty,
            )
        )
        if not optional or draw(st.booleans()):
            arguments[name] = draw(strategy)
        value = arguments.get(name, default)
        expected[name] = {"country": "FR", **value} if kind == "place" and value else value
    return parameters, arguments, expected


@settings(max_examples=150, deadline=None)
@given(signatures_and_arguments())
def test_matching_arguments_reach_the_function_unchanged(case: Case) -> None:
    parameters, arguments, expected = case
    received: dict[str, Any] = {}

    def generated(**kwargs: Any) -> str:
        received.update({k: plain(v) for k, v in kwargs.items()})
        return "ok"

    generated.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    generated.__annotations__ = {p.name: p.annotation for p in parameters}
    tool = Tool.from_function(generated)
    required = [k for k, v in tool.parameters["properties"].items() if "default" not in v]
    assert tool.parameters.get("required", []) == required
    outcome = run_tool_calls([call("generated", json.dumps(arguments))], [tool], timeout=None)[0]
    assert (outcome.ok, outcome.content, outcome.arguments) == (True, "ok", arguments)
    assert received == expected
