"""Golden streams through the pure engine: the final completion, field by field."""

from __future__ import annotations

import pytest
from goldens import golden

from nbstream.accumulator import StreamAccumulator
from nbstream.errors import MalformedStreamError, ServerStreamError, TruncatedStreamError
from nbstream.events import (
    ChoiceFinished,
    ContentDelta,
    ReasoningDelta,
    RefusalDelta,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReceived,
)
from nbstream.parser import parse_stream


def parse(name: str):
    return parse_stream([golden(name)])


def test_plain_text() -> None:
    completion, events = parse("plain")
    assert completion["id"] == "chatcmpl-G1"
    assert completion["object"] == "chat.completion"
    assert completion["created"] == 1727346171
    assert completion["model"] == "gpt-4o-2024-08-06"
    assert completion["system_fingerprint"] == "fp_5050236cbd"
    assert completion["service_tier"] == "default"
    assert "obfuscation" not in completion
    assert completion["usage"] is None
    (choice,) = completion["choices"]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": "Hello, wörld 👋", "refusal": None},
        "finish_reason": "stop",
        "logprobs": None,
    }
    assert [e for e in events if isinstance(e, ContentDelta)] == [
        ContentDelta(0, "Hello"),
        ContentDelta(0, ", wörld"),
        ContentDelta(0, " 👋"),
    ]
    assert events[-1] == ChoiceFinished(0, "stop")


def test_usage_chunk_is_kept() -> None:
    completion, events = parse("usage")
    assert completion["choices"][0]["message"]["content"] == "One two three."
    assert completion["usage"]["total_tokens"] == 22
    assert completion["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    assert isinstance(events[-1], UsageReceived)


def test_n2_in_any_order() -> None:
    completion, events = parse("n2")
    first, second = completion["choices"]
    assert (first["index"], first["message"]["content"], first["finish_reason"]) == (
        0,
        "Hello there",
        "stop",
    )
    assert (second["index"], second["message"]["content"], second["finish_reason"]) == (
        1,
        "Bonjour à tous",
        "length",
    )
    assert completion["usage"] == {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12}
    finished = [e for e in events if isinstance(e, ChoiceFinished)]
    assert finished == [ChoiceFinished(0, "stop"), ChoiceFinished(1, "length")]


def test_parallel_tool_calls() -> None:
    completion, events = parse("parallel_tools")
    message = completion["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_JMW1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris\\u00e9"}'},
        },
        {
            "id": "call_DNYT",
            "type": "function",
            "function": {"name": "get_stock_price", "arguments": '{"ticker": "AAPL"}'},
        },
    ]
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    tool_events = [
        e for e in events if isinstance(e, (ToolCallStarted, ToolCallDone, ToolCallArgumentsDelta))
    ]
    assert tool_events[0] == ToolCallStarted(0, 0, "call_JMW1", "get_weather")
    assert tool_events[1] == ToolCallArgumentsDelta(0, 0, '{"ci', '{"ci')
    assert ToolCallDone(0, 0, "call_JMW1", "get_weather", '{"city": "Paris\\u00e9"}') in events
    # Call 0 is done before call 1 starts; call 1 is done before the choice finishes.
    order = [type(e).__name__ for e in events if isinstance(e, (ToolCallStarted, ToolCallDone))]
    assert order == ["ToolCallStarted", "ToolCallDone", "ToolCallStarted", "ToolCallDone"]


def test_refusal() -> None:
    completion, events = parse("refusal")
    message = completion["choices"][0]["message"]
    assert message["refusal"] == "I'm sorry, I can't help with that."
    assert message["content"] is None
    assert RefusalDelta(0, "I'm sorry,") in events


def test_logprobs_are_extended() -> None:
    completion, _ = parse("logprobs")
    logprobs = completion["choices"][0]["logprobs"]
    assert [entry["token"] for entry in logprobs["content"]] == ["Yes", "."]
    assert logprobs["content"][1]["logprob"] == -0.5
    assert logprobs["refusal"] is None


def test_ollama_role_repeated_and_whole_tool_call() -> None:
    completion, _ = parse("ollama_role_repeat")
    (choice,) = completion["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "The weather"
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_x1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Berlin"}'},
        }
    ]
    assert choice["finish_reason"] == "tool_calls"
    assert completion["created"] == 1  # the first chunk's, though later ones differ


def test_litellm_tool_id_repeated_and_usage_with_choices() -> None:
    completion, _ = parse("litellm_tool_id_repeat")
    (call,) = completion["choices"][0]["message"]["tool_calls"]
    assert call["id"] == "toolu_01"
    assert call["function"] == {"name": "lookup", "arguments": '{"q": "nbstream"}'}
    assert completion["usage"]["total_tokens"] == 39


def test_vllm_content_and_finish_in_one_chunk() -> None:
    completion, events = parse("vllm_content_finish")
    (choice,) = completion["choices"]
    assert choice["message"]["content"] == "Hi!"
    assert choice["message"]["reasoning"] == "User greets. Reply briefly."
    assert choice["finish_reason"] == "stop"
    assert ReasoningDelta(0, "User greets. ") in events
    assert events.index(ContentDelta(0, "!")) < events.index(ChoiceFinished(0, "stop"))
    assert completion["usage"]["total_tokens"] == 9


def test_azure_prelude_does_not_blank_the_id() -> None:
    completion, _ = parse("azure_prelude")
    assert completion["id"] == "chatcmpl-G1"
    assert completion["model"] == "gpt-4o"
    assert completion["choices"][0]["message"]["content"] == "Azure says hi."
    assert completion["prompt_filter_results"][0]["prompt_index"] == 0


def test_llamacpp_crlf_and_done_without_blank_line() -> None:
    completion, _ = parse("llamacpp_crlf")
    (choice,) = completion["choices"]
    assert choice["message"]["content"] == "Ciao"
    assert completion["timings"]["predicted_n"] == 1
    assert completion["system_fingerprint"] == "b6497-f0c5d6e"


def test_groq_usage_fallback() -> None:
    completion, _ = parse("groq_usage")
    assert completion["usage"] == {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}


def test_choices_null_and_no_done() -> None:
    completion, _ = parse("choices_null_no_done")
    assert completion["choices"][0]["message"]["content"] == "42"
    assert completion["usage"]["total_tokens"] == 4


def test_error_event_raises_with_message_and_code() -> None:
    with pytest.raises(ServerStreamError) as info:
        parse("error_midstream")
    assert "had an error" in str(info.value)
    assert info.value.code == "server_error"
    assert info.value.partial_text == "Partial"
    assert info.value.retryable


def test_missing_finish_reason_is_truncation() -> None:
    with pytest.raises(TruncatedStreamError) as info:
        parse("truncated")
    assert info.value.partial_text == "Cut off"


@pytest.mark.parametrize(
    "body",
    [b"data: {not json}\n\n", b'data: "hi"\n\n', b"data: [1, 2]\n\n"],
)
def test_malformed_events_raise_a_clear_error(body: bytes) -> None:
    with pytest.raises(MalformedStreamError, match="not"):
        parse_stream([body])


def test_flat_vllm_error_object() -> None:
    acc = StreamAccumulator()
    with pytest.raises(ServerStreamError, match="context length"):
        acc.feed({"object": "error", "message": "context length exceeded", "code": 400})


def test_tool_fragments_without_index() -> None:
    acc = StreamAccumulator()
    acc.feed({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
    acc.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]
                    },
                }
            ]
        }
    )
    acc.feed(
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": "}"}}]}}]}
    )
    acc.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    calls = acc.completion()["choices"][0]["message"]["tool_calls"]
    assert calls == [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


def test_sdk_chunk_objects_are_accepted() -> None:
    from openai.types.chat import ChatCompletionChunk

    acc = StreamAccumulator()
    chunk = ChatCompletionChunk.construct(
        id="x",
        object="chat.completion.chunk",
        created=1,
        model="m",
        choices=[{"index": 0, "delta": {"content": "hey"}, "finish_reason": "stop"}],
    )
    assert acc.feed(chunk)[0] == ContentDelta(0, "hey")
    assert acc.finished
