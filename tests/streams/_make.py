"""Writes the golden .sse bodies (run once; the files are committed, this script documents them)."""

import json
from pathlib import Path

HERE = Path(__file__).parent


def ev(obj):
    return "data: " + json.dumps(obj, separators=(",", ":")) + "\n\n"


def chunk(choices, *, id="chatcmpl-G1", model="gpt-4o-2024-08-06", created=1727346171, **extra):
    d = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_5050236cbd",
        "choices": choices,
    }
    d.update(extra)
    return d


def c(index=0, finish=None, logprobs=None, **delta):
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


DONE = "data: [DONE]\n\n"
USAGE = {
    "prompt_tokens": 19,
    "completion_tokens": 3,
    "total_tokens": 22,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

streams = {}

streams["plain"] = "".join(
    [
        ev(
            chunk(
                [c(role="assistant", content="", refusal=None)],
                service_tier="default",
                obfuscation="k3Jd",
            )
        ),
        ": keep-alive\n\n",
        ev(chunk([c(content="Hello")], service_tier="default", obfuscation="p9")),
        ev(chunk([c(content=", wörld")], service_tier="default", obfuscation="")),
        ev(chunk([c(content=" 👋")], service_tier="default", obfuscation="x")),
        ev(chunk([c(finish="stop")], service_tier="default", obfuscation="")),
        DONE,
    ]
)

streams["usage"] = "".join(
    [
        ev(chunk([c(role="assistant", content="")], usage=None)),
        ev(chunk([c(content="One")], usage=None)),
        ev(chunk([c(content=" two")], usage=None)),
        ev(chunk([c(content=" three.")], usage=None)),
        ev(chunk([c(finish="stop")], usage=None)),
        ev(chunk([], usage=USAGE)),
        DONE,
    ]
)

# n=2: index 1 starts first, indices interleave, each has its own finish chunk.
streams["n2"] = "".join(
    [
        ev(chunk([c(1, role="assistant", content="")], usage=None)),
        ev(chunk([c(0, role="assistant", content="")], usage=None)),
        ev(chunk([c(1, content="Bonjour")], usage=None)),
        ev(chunk([c(0, content="Hello")], usage=None)),
        ev(chunk([c(0, content=" there")], usage=None)),
        ev(chunk([c(1, content=" à tous")], usage=None)),
        ev(chunk([c(0, finish="stop")], usage=None)),
        ev(chunk([c(1, finish="length")], usage=None)),
        ev(chunk([], usage={"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12})),
        DONE,
    ]
)

tc = lambda index, **kw: {"index": index, **kw}
streams["parallel_tools"] = "".join(
    [
        ev(chunk([c(role="assistant", content=None)])),
        ev(
            chunk(
                [
                    c(
                        tool_calls=[
                            tc(
                                0,
                                id="call_JMW1",
                                type="function",
                                function={"name": "get_weather", "arguments": ""},
                            )
                        ]
                    )
                ]
            )
        ),
        ev(chunk([c(tool_calls=[tc(0, function={"arguments": '{"ci'})])])),
        ev(chunk([c(tool_calls=[tc(0, function={"arguments": 'ty": "Par'})])])),
        ev(chunk([c(tool_calls=[tc(0, function={"arguments": 'is\\u00e9"}'})])])),
        ev(
            chunk(
                [
                    c(
                        tool_calls=[
                            tc(
                                1,
                                id="call_DNYT",
                                type="function",
                                function={"name": "get_stock_price", "arguments": ""},
                            )
                        ]
                    )
                ]
            )
        ),
        ev(chunk([c(tool_calls=[tc(1, function={"arguments": '{"ticker":'})])])),
        ev(chunk([c(tool_calls=[tc(1, function={"arguments": ' "AAPL"}'})])])),
        ev(chunk([c(finish="tool_calls")])),
        DONE,
    ]
)

streams["refusal"] = "".join(
    [
        ev(chunk([c(role="assistant", content=None, refusal="")])),
        ev(chunk([c(refusal="I'm sorry,")])),
        ev(chunk([c(refusal=" I can't help with that.")])),
        ev(chunk([c(finish="stop")])),
        DONE,
    ]
)

lp = lambda tok, v: {
    "content": [
        {
            "token": tok,
            "logprob": v,
            "bytes": list(tok.encode()),
            "top_logprobs": [{"token": tok, "logprob": v, "bytes": list(tok.encode())}],
        }
    ],
    "refusal": None,
}
streams["logprobs"] = "".join(
    [
        ev(chunk([c(role="assistant", content="", logprobs={"content": [], "refusal": None})])),
        ev(chunk([c(content="Yes", logprobs=lp("Yes", -0.01))])),
        ev(chunk([c(content=".", logprobs=lp(".", -0.5))])),
        ev(chunk([c(finish="stop")])),
        DONE,
    ]
)

# Ollama before its 2026 rework: role in every chunk, finish on the last content chunk,
# a whole tool call in one chunk, `created` changing between chunks.
streams["ollama_role_repeat"] = "".join(
    [
        ev(
            chunk(
                [c(role="assistant", content="The")], id="chatcmpl-481", model="llama3.2", created=1
            )
        ),
        ev(
            chunk(
                [c(role="assistant", content=" weather")],
                id="chatcmpl-481",
                model="llama3.2",
                created=2,
            )
        ),
        ev(
            chunk(
                [
                    c(
                        role="assistant",
                        content="",
                        tool_calls=[
                            {
                                "id": "call_x1",
                                "index": 0,
                                "type": "function",
                                "function": {
                                    "name": "get_weather",
                                    "arguments": '{"city":"Berlin"}',
                                },
                            }
                        ],
                    )
                ],
                id="chatcmpl-481",
                model="llama3.2",
                created=2,
            )
        ),
        ev(
            chunk(
                [c(role="assistant", content="", finish="tool_calls")],
                id="chatcmpl-481",
                model="llama3.2",
                created=3,
            )
        ),
        DONE,
    ]
)

# LiteLLM: tool id and name repeated on every fragment; the usage chunk has non-empty choices.
streams["litellm_tool_id_repeat"] = "".join(
    [
        ev(chunk([c(role="assistant", content=None)], model="claude-sonnet")),
        ev(
            chunk(
                [
                    c(
                        tool_calls=[
                            tc(
                                0,
                                id="toolu_01",
                                type="function",
                                function={"name": "lookup", "arguments": ""},
                            )
                        ]
                    )
                ],
                model="claude-sonnet",
            )
        ),
        ev(
            chunk(
                [
                    c(
                        tool_calls=[
                            tc(
                                0,
                                id="toolu_01",
                                type="function",
                                function={"name": "lookup", "arguments": '{"q": '},
                            )
                        ]
                    )
                ],
                model="claude-sonnet",
            )
        ),
        ev(
            chunk(
                [
                    c(
                        tool_calls=[
                            tc(
                                0,
                                id="toolu_01",
                                type="function",
                                function={"name": "lookup", "arguments": '"nbstream"}'},
                            )
                        ]
                    )
                ],
                model="claude-sonnet",
            )
        ),
        ev(chunk([c(finish="tool_calls")], model="claude-sonnet")),
        ev(
            chunk(
                [c(content="")],
                model="claude-sonnet",
                usage={"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39},
            )
        ),
        DONE,
    ]
)

# vLLM: the last token and finish_reason share a chunk; reasoning beside content; stop_reason.
streams["vllm_content_finish"] = "".join(
    [
        ev(chunk([c(role="assistant", content="")], model="Qwen/Qwen3-8B")),
        ev(chunk([c(reasoning="User greets. ")], model="Qwen/Qwen3-8B")),
        ev(chunk([c(reasoning="Reply briefly.")], model="Qwen/Qwen3-8B")),
        ev(chunk([c(content="Hi")], model="Qwen/Qwen3-8B")),
        ev(
            chunk(
                [
                    {
                        "index": 0,
                        "delta": {"content": "!"},
                        "logprobs": None,
                        "finish_reason": "stop",
                        "stop_reason": None,
                    }
                ],
                model="Qwen/Qwen3-8B",
            )
        ),
        ev(
            {
                "id": "chatcmpl-G1",
                "object": "chat.completion.chunk",
                "created": 1727346171,
                "model": "Qwen/Qwen3-8B",
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
            }
        ),
        DONE,
    ]
)

# Azure: a prelude chunk with no choices, empty id and model, and prompt_filter_results.
streams["azure_prelude"] = "".join(
    [
        ev(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": [
                    {
                        "prompt_index": 0,
                        "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
                    }
                ],
            }
        ),
        ev(chunk([c(role="assistant", content="")], model="gpt-4o")),
        ev(chunk([c(content="Azure says hi.")], model="gpt-4o")),
        ev(chunk([c(finish="stop")], model="gpt-4o")),
        DONE,
    ]
)

# llama.cpp: content null first, timings on the last chunk, CRLF line endings, and
# `data: [DONE]` with no blank line after it.
streams["llamacpp_crlf"] = (
    "".join(
        [
            ev(
                chunk(
                    [c(role="assistant", content=None)],
                    model="gemma",
                    system_fingerprint="b6497-f0c5d6e",
                )
            ),
            ev(chunk([c(content="Ciao")], model="gemma", system_fingerprint="b6497-f0c5d6e")),
            ev(
                chunk(
                    [c(finish="stop")],
                    model="gemma",
                    system_fingerprint="b6497-f0c5d6e",
                    timings={"prompt_n": 4, "predicted_n": 1, "predicted_per_second": 41.2},
                )
            ),
        ]
    ).replace("\n", "\r\n")
    + "data: [DONE]"
)

# Groq: usage only inside x_groq on the last chunk.
streams["groq_usage"] = "".join(
    [
        ev(
            chunk(
                [c(role="assistant", content="")],
                model="llama-3.3-70b-versatile",
                x_groq={"id": "req_01", "queue_length": 0},
            )
        ),
        ev(chunk([c(content="Fast.")], model="llama-3.3-70b-versatile")),
        ev(
            chunk(
                [c(finish="stop")],
                model="llama-3.3-70b-versatile",
                x_groq={
                    "id": "req_01",
                    "usage": {
                        "queue_time": 0.01,
                        "prompt_tokens": 12,
                        "prompt_time": 0.001,
                        "completion_tokens": 2,
                        "completion_time": 0.002,
                        "total_tokens": 14,
                        "total_time": 0.003,
                    },
                },
            )
        ),
        DONE,
    ]
)

# DeepSeek/NIM style: the usage chunk has choices: null; no [DONE] at all.
streams["choices_null_no_done"] = "".join(
    [
        ev(chunk([c(role="assistant", content="")], model="deepseek-chat")),
        ev(chunk([c(content="42")], model="deepseek-chat")),
        ev(chunk([c(finish="stop")], model="deepseek-chat")),
        ev(
            {
                "id": "chatcmpl-G1",
                "object": "chat.completion.chunk",
                "created": 1727346171,
                "model": "deepseek-chat",
                "choices": None,
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            }
        ),
    ]
)

streams["error_midstream"] = "".join(
    [
        ev(chunk([c(role="assistant", content="")])),
        ev(chunk([c(content="Partial")])),
        ev(
            {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "param": None,
                    "code": "server_error",
                }
            }
        ),
    ]
)

streams["truncated"] = "".join(
    [
        ev(chunk([c(role="assistant", content="")])),
        ev(chunk([c(content="Cut")])),
        ev(chunk([c(content=" off")])),
    ]
)

for name, body in streams.items():
    (HERE / f"{name}.sse").write_bytes(body.encode("utf-8"))
print(len(streams), "streams written")
