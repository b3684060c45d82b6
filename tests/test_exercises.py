"""The exercise checks: right answers pass, typical wrong answers get precise feedback.

The checks run against the real tutor server (their own private one). Each "learner"
function here is either a correct answer built on nbstream's engine, or one of the mistakes
learners really make (taking `choices[0]`, concatenating the role, ignoring Retry-After,
streaming one prompt after another, redrawing on every delta).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from nbstream import StreamAccumulator, exercises
from nbstream.exercises import ExerciseFailed


def _accumulate(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    acc = StreamAccumulator()
    for chunk in chunks:
        acc.feed(chunk)
    return acc.completion()


def _run(check: Any, answer: Any, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    try:
        check(answer)
        passed = True
    except ExerciseFailed:
        passed = False
    return passed, capsys.readouterr().out


def _line(report: str, case: str) -> str:
    return next(line for line in report.splitlines() if case in line)


# -- passing ----------------------------------------------------------------------------------


def test_correct_answers_pass_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    def tool_calls(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        message = _accumulate(chunks)["choices"][0]["message"]
        return [
            {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in message.get("tool_calls") or []
        ]

    exercises.check_ask(_ask)
    exercises.check_sse_parser(exercises.chunks_of)
    exercises.check_accumulator(_accumulate)
    exercises.check_dialects(_accumulate)
    exercises.check_tool_calls(tool_calls)
    exercises.check_retry_delay(exercises.reference_retry_delay)
    exercises.check_stream_stats(exercises.reference_stream_stats)
    exercises.check_throttle(exercises.reference_throttle)
    out = capsys.readouterr().out
    assert "✗" not in out
    assert out.count("checks passed") == 8
    assert "✓ all 7 checks passed" in out


def _ask(prompt: str) -> str:
    from nbstream.exercises._streams import body, chunks_of

    return _accumulate(chunks_of(body(prompt)))["choices"][0]["message"]["content"]


# -- precise feedback --------------------------------------------------------------------------


def test_a_stub_is_reported_as_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    def stub(chunks: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match="NotImplementedError") as info:
        exercises.check_accumulator(stub)
    assert capsys.readouterr().out.startswith("✗ not written yet")
    assert info.value._render_traceback_() == [
        "ExerciseFailed: the answer cell still raises NotImplementedError"
    ]


def test_naive_first_choice_names_the_streams_it_breaks_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def naive(chunks: list[dict[str, Any]]) -> dict[str, Any]:
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return {"model": chunks[0]["model"], "choices": [choice], "usage": None}

    passed, report = _run(exercises.check_accumulator, naive, capsys)
    assert not passed
    assert _line(report, "plain").startswith("✓")
    assert "IndexError" in _line(report, "usage chunk (choices: [])")
    assert "TypeError" in _line(report, "choices: null")
    cut = _line(report, "cut off")
    assert "choices[0].finish_reason: expected None, got 'stop'" in cut
    assert "checks failed" in report.splitlines()[-1]


def test_n2_and_usage_mistakes_say_which_field(capsys: pytest.CaptureFixture[str]) -> None:
    def first_choice_only(chunks: list[dict[str, Any]]) -> dict[str, Any]:
        full = _accumulate(chunks)
        return {"model": full["model"], "choices": full["choices"][:1], "usage": None}

    passed, report = _run(exercises.check_accumulator, first_choice_only, capsys)
    assert not passed
    n2 = _line(report, "n=2")
    assert "number of choices: expected 2, got 1" in n2
    assert "usage: expected {'prompt_tokens'" in _line(report, "a longer reply")


def test_concatenated_role_fails_only_the_dialects_that_repeat_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def appends_role(chunks: list[dict[str, Any]]) -> dict[str, Any]:
        full = _accumulate(chunks)
        role = "".join(
            (c.get("delta") or {}).get("role") or ""
            for chunk in chunks
            for c in chunk.get("choices") or []
            if c["index"] == 0
        )
        full["choices"][0]["message"]["role"] = role
        return full

    passed, report = _run(exercises.check_dialects, appends_role, capsys)
    assert not passed
    assert _line(report, "OpenAI").startswith("✓")
    assert _line(report, "vLLM").startswith("✓")
    ollama = _line(report, "Ollama: role in every chunk")
    assert "choices[0].message.role: expected 'assistant', got 'assistantassistant" in ollama


def test_sse_parser_that_trusts_the_last_event_is_caught(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def trusting(body: bytes) -> list[dict[str, Any]]:
        chunks = []
        for line in body.decode().splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line[6:]))
        return chunks

    passed, report = _run(exercises.check_sse_parser, trusting, capsys)
    assert not passed
    assert _line(report, "plain").startswith("✓")
    assert "JSONDecodeError" in _line(report, "cut off")
    assert "number of chunks" in _line(report, "`data:` with no space")


def test_tool_calls_with_concatenated_ids(capsys: pytest.CaptureFixture[str]) -> None:
    def concatenates(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls: dict[int, dict[str, str]] = {}
        for chunk in chunks:
            for choice in chunk.get("choices") or []:
                for frag in (choice.get("delta") or {}).get("tool_calls") or []:
                    call = calls.setdefault(frag["index"], {"id": "", "name": "", "arguments": ""})
                    function = frag.get("function") or {}
                    call["id"] += frag.get("id") or ""
                    call["name"] += function.get("name") or ""
                    call["arguments"] += function.get("arguments") or ""
        return [calls[i] for i in sorted(calls)]

    passed, report = _run(exercises.check_tool_calls, concatenates, capsys)
    assert not passed
    assert _line(report, "one call").startswith("✓")
    assert "call 0 id: expected 'call_" in _line(report, "LiteLLM")


def test_retry_delay_that_ignores_retry_after(capsys: pytest.CaptureFixture[str]) -> None:
    def backoff_only(status: int, headers: dict[str, str], attempt: int) -> float | None:
        if attempt >= 3 or (status < 500 and status not in (408, 409, 429)):
            return None
        return 0.5 * 2 ** (attempt - 1)

    passed, report = _run(exercises.check_retry_delay, backoff_only, capsys)
    assert not passed
    assert "HTTP 429, attempt 1: expected 2.0, got 0.5" in _line(report, "Retry-After: 2")
    assert "expected None, got 0.5" in _line(report, "300 s")
    assert _line(report, "400 bad request").startswith("✓")


def test_stream_stats_counting_the_role_chunk(capsys: pytest.CaptureFixture[str]) -> None:
    def from_first_chunk(timed: list[tuple[float, dict[str, Any]]]) -> dict[str, Any]:
        stats = exercises.reference_stream_stats(timed)
        return {**stats, "ttft": timed[0][0]}

    passed, report = _run(exercises.check_stream_stats, from_first_chunk, capsys)
    assert not passed
    assert "ttft: expected 0.25, got 0.05" in _line(report, "steady 20 ms")


def test_throttle_that_draws_every_delta(capsys: pytest.CaptureFixture[str]) -> None:
    def every_delta(arrivals: list[tuple[float, str]], interval: float) -> list[str]:
        text, shown = "", []
        for _, delta in arrivals:
            text += delta
            shown.append(text)
        return shown

    passed, report = _run(exercises.check_throttle, every_delta, capsys)
    assert not passed
    assert "rendered 300 times, expected 7" in _line(report, "a burst")
    assert _line(report, "slow deltas").startswith("✓")


def test_throttle_that_loses_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    def no_final(arrivals: list[tuple[float, str]], interval: float) -> list[str]:
        shown = exercises.reference_throttle(arrivals, interval)
        return shown[:-1] if len(shown) > 1 and shown[-1] != shown[-2] else shown

    passed, report = _run(exercises.check_throttle, no_final, capsys)
    assert not passed
    assert "rendered" in _line(report, "the final text is always shown")


# -- concurrency --------------------------------------------------------------------------------


async def _one(client: Any, prompt: str) -> str:
    stream = await client.chat.completions.create(
        model="tutor", messages=[{"role": "user", "content": prompt}], stream=True
    )
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def test_concurrent_replies_pass(capsys: pytest.CaptureFixture[str]) -> None:
    async def together(client: Any, prompts: list[str]) -> list[str]:
        return list(await asyncio.gather(*(_one(client, p) for p in prompts)))

    asyncio.run(exercises.check_concurrent(together))
    assert "✓ all 2 checks passed" in capsys.readouterr().out


def test_one_after_another_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    async def sequential(client: Any, prompts: list[str]) -> list[str]:
        return [await _one(client, p) for p in prompts]

    with pytest.raises(ExerciseFailed):
        asyncio.run(exercises.check_concurrent(sequential))
    report = capsys.readouterr().out
    assert _line(report, "in prompt order").startswith("✓")
    assert "one after another" in _line(report, "overlap")


def test_wrong_order_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    async def reversed_order(client: Any, prompts: list[str]) -> list[str]:
        return list(reversed(await asyncio.gather(*(_one(client, p) for p in prompts))))

    with pytest.raises(ExerciseFailed):
        asyncio.run(exercises.check_concurrent(reversed_order))
    assert "reply 0" in _line(capsys.readouterr().out, "in prompt order")
