"""08 · real endpoints and their dialects, shown with the tutor's dialect emulation."""
# ruff: noqa: E501

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=8,
    slug="real-endpoints",
    title="Real endpoints and their dialects",
    summary="OpenAI, vLLM, Ollama, llama.cpp, Groq...: how each one streams, and staying robust",
    goals="""
        **Goals.** Point the same code at any OpenAI-compatible server, and learn where the
        servers **differ** when they stream: a role repeated on every chunk, the last token
        sharing its chunk with `finish_reason`, an empty prelude chunk, usage hidden in an
        extra field. The tutor emulates each server's dialect, so you can see them all
        offline, and make your accumulator from notebook 02 robust to every one.
    """,
    cells=[
        md("""
            ## One protocol, many servers

            Every server below speaks Chat Completions; only the base URL, the key and the
            model names change. Set them in the environment before starting Jupyter
            (notebook 00 explains how), and the notebooks run unchanged.

            | server | `OPENAI_BASE_URL` | `OPENAI_API_KEY` | a model name |
            |---|---|---|---|
            | OpenAI | `https://api.openai.com/v1` (the default) | `sk-...` | `gpt-4.1-mini` |
            | Groq | `https://api.groq.com/openai/v1` | `gsk_...` | `llama-3.3-70b-versatile` |
            | vLLM | `http://localhost:8000/v1` | the `--api-key` it was started with, or anything | the served model, e.g. `meta-llama/Llama-3.3-70B-Instruct` |
            | Ollama | `http://localhost:11434/v1` | anything (ignored) | `llama3.2` |
            | llama.cpp (`llama-server`) | `http://localhost:8080/v1` | anything, unless started with `--api-key` | anything (one model is loaded) |
            | LiteLLM proxy | `http://localhost:4000` | the proxy's key | a name from its config |

            To switch between several in one notebook, register **profiles**; the key stays
            in an environment variable and never appears in the notebook:

            ```python
            nbstream.register_profile("groq", "https://api.groq.com/openai/v1", api_key_env="GROQ_API_KEY")
            nbstream.chat("Hello!", endpoint=nbstream.endpoint.resolve_endpoint(profile="groq"))
            ```

            and in a `%%chat` cell: `%%chat --profile groq -m llama-3.3-70b-versatile`.
        """),
        md("""
            ## The tutor's dialects

            `dialect=NAME` in the fault header (or `tutor@dialect=NAME`) makes the tutor stream
            its usual reply the way that server family really does. A helper:
        """),
        code("""
            def stream_in(dialect, prompt="Hello!", **params):
                headers = {"x-nbstream-fault": f"dialect={dialect}"} if dialect else {}
                messages = [{"role": "user", "content": prompt}]
                return client.chat.completions.create(
                    model="tutor", messages=messages, stream=True, extra_headers=headers, **params
                )
        """),
        code("""
            def chunks_in(dialect, prompt="Hello!", **params):
                return [c.model_dump(exclude_unset=True) for c in stream_in(dialect, prompt, **params)]
        """),
        md("""
            OpenAI's own shape, for reference: the role only in the first chunk, and the last
            chunk has an empty delta and the `finish_reason`.
        """),
        code("""
            openai_style = chunks_in(None)
            [c["choices"][0]["delta"] for c in openai_style[:2]], openai_style[-1]["choices"][0]
        """),
        md("""
            ### vLLM

            The last token and the `finish_reason` share one chunk, which also carries vLLM's
            `stop_reason`. There is no empty finish chunk.
        """),
        code("""
            chunks_in("vllm")[-1]["choices"][0]
        """),
        md("""
            ### Ollama

            `role` is repeated in **every** chunk, and `finish_reason` arrives on the last
            content chunk.
        """),
        code("""
            [c["choices"][0]["delta"] for c in chunks_in("ollama")[:3]]
        """),
        md("""
            Tool calls arrive **whole**, in a single fragment with complete arguments:
        """),
        code("""
            weather_tool = {"type": "function", "function": {
                "name": "get_weather", "description": "Current weather for a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }}
            ollama_tools = chunks_in("ollama", "What's the weather in Berlin?", tools=[weather_tool])
            [c["choices"][0]["delta"].get("tool_calls") for c in ollama_tools if c["choices"][0]["delta"].get("tool_calls")]
        """),
        md("""
            ### llama.cpp

            The first chunk has `content: null` instead of `""`, the last one carries
            `timings`, and `system_fingerprint` is the build number.
        """),
        code("""
            llama = chunks_in("llamacpp")
            llama[0]["choices"][0]["delta"], llama[-1].get("timings"), llama[-1]["system_fingerprint"]
        """),
        md("""
            ### Groq

            An extra top-level `x_groq` on the first chunk and, with the token counts inside
            it, on the last. Without `include_usage`, that is the **only** place the usage is.
        """),
        code("""
            groq = chunks_in("groq")
            groq[0]["x_groq"], groq[-1]["x_groq"]["usage"]["total_tokens"], groq[-1].get("usage")
        """),
        md("""
            ### Azure OpenAI and LiteLLM

            Azure can open with a **prelude** chunk: no choices, empty `id` and `model`, and
            its content filter results. The LiteLLM proxy repeats a tool call's `id` on every
            fragment and puts a choice into the usage chunk.
        """),
        code("""
            azure = chunks_in("azure")
            azure[0]["choices"], azure[0]["model"], azure[1]["model"]
        """),
        code("""
            litellm = chunks_in("litellm", "What's the weather in Berlin?", tools=[weather_tool])
            [f.get("id") for c in litellm for f in c["choices"][0]["delta"].get("tool_calls") or []][:3]
        """),
        md("""
            ## Who copes with what

            Feed every dialect to the SDK's `ChatCompletionStreamState` and to nbstream's
            `StreamAccumulator`, and compare the role, the model and the usage they end up
            with (no `include_usage` here, as many tutorials leave it out).
        """),
        code("""
            from openai.lib.streaming.chat import ChatCompletionStreamState

            def both(dialect):
                state, acc = ChatCompletionStreamState(), nbstream.StreamAccumulator()
                for chunk in stream_in(dialect):
                    state.handle_chunk(chunk)
                    acc.feed(chunk)
                return state.current_completion_snapshot, acc.completion()
        """),
        code("""
            print(f"{'dialect':9} {'SDK role':14} {'SDK model':10} {'SDK usage':10} | nbstream role, model, usage")
            for dialect in (None, "vllm", "ollama", "litellm", "azure", "llamacpp", "groq"):
                sdk, ours = both(dialect)
                usage = ours["usage"] and ours["usage"]["total_tokens"]
                print(f"{dialect or 'openai':9} {sdk.choices[0].message.role[:12]:14} {sdk.model!r:10} "
                      f"{str(sdk.usage and sdk.usage.total_tokens):10} | "
                      f"{ours['choices'][0]['message']['role']}, {ours['model']!r}, {usage}")
        """),
        md("""
            The SDK's generic merge appends every string, so Ollama's repeated role becomes
            `assistantassistant...`; it takes the model from the first chunk, which is Azure's
            empty prelude; and it does not know Groq's `x_groq`. (The SDK's own
            `client.chat.completions.stream()` helper skips Azure's prelude; hand-fed state
            does not.) nbstream's accumulator sets role and model once, from the first
            non-empty value, and falls back to `x_groq.usage`.

            The text itself survives everywhere:
        """),
        code("""
            reference = nbstream.chat("Hello!", history=False).text
            all(
                nbstream.chat("Hello!", history=False, extra_headers={"x-nbstream-fault": f"dialect={d}"}).text == reference
                for d in ("vllm", "ollama", "litellm", "azure", "llamacpp", "groq")
            )
        """),
        md("""
            ## Extras

            Server-specific fields are not lost: the SDK keeps unknown keys, and
            `model_extra` shows them. This is how you read llama.cpp's `timings` or
            reasoning text that some servers send as `delta.reasoning_content`.
        """),
        code("""
            stream = client.chat.completions.create(
                model="tutor@dialect=llamacpp", messages=[{"role": "user", "content": "Hello!"}], stream=True
            )
            [chunk.model_extra for chunk in stream if chunk.model_extra]
        """),
        md("""
            ## Errors in a dialect

            vLLM reports a failure inside the stream as an `{"error": ...}` event with an
            integer `code`, then sends `[DONE]`. The SDK raises `APIError` either way.
        """),
        code("""
            try:
                for chunk in client.chat.completions.create(
                    model="tutor@dialect=vllm,error=3", messages=[{"role": "user", "content": "Hello!"}], stream=True
                ):
                    pass
            except openai.APIError as error:
                print(type(error).__name__, repr(error.code), error.type, "-", error.message)
        """),
        md("""
            ## Exercise 8: a dialect-proof accumulator

            Make your accumulator from exercise 2 robust to every dialect. Same contract:
            return `{"model", "choices": [{"index", "message": {"role", "content"},
            "finish_reason"}], "usage"}`. The check feeds it the tutor's reply in all six
            dialects (with `include_usage`, except Groq, whose usage is only in `x_groq`). You
            need:

            - `role` and `model` set **once**, from the first non-empty value;
            - `choices` that may be `[]` or `None`, and a usage chunk that has a choice;
            - content and `finish_reason` in the same chunk;
            - `usage` from the usage chunk, or else from `x_groq["usage"]` (keep only
              `prompt_tokens`, `completion_tokens` and `total_tokens` from there).
        """),
        answer(
            solution="""
                def accumulate(chunks: list[dict]) -> dict:
                    model, usage, groq_usage, choices = None, None, None, {}
                    for chunk in chunks:
                        model = model or chunk.get("model") or None  # "" in Azure's prelude
                        usage = chunk.get("usage") or usage
                        groq_usage = (chunk.get("x_groq") or {}).get("usage") or groq_usage
                        for data in chunk.get("choices") or []:
                            choice = choices.setdefault(data["index"], {
                                "index": data["index"], "finish_reason": None,
                                "message": {"role": None, "content": ""},
                            })
                            delta = data.get("delta") or {}
                            choice["message"]["role"] = choice["message"]["role"] or delta.get("role")
                            choice["message"]["content"] += delta.get("content") or ""
                            choice["finish_reason"] = data.get("finish_reason") or choice["finish_reason"]
                    if usage is None and groq_usage:
                        keys = ("prompt_tokens", "completion_tokens", "total_tokens")
                        usage = {k: groq_usage[k] for k in keys}
                    return {"model": model, "choices": [choices[i] for i in sorted(choices)], "usage": usage}
            """,
            learner="""
                def accumulate(chunks: list[dict]) -> dict:
                    raise NotImplementedError  # your code here (start from your exercise 2)
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_dialects(accumulate)
        """),
        md("""
            ## Where to go next

            - `docs/server.md`: every fault, dialect and recording the tutor knows;
            - `docs/retry.md`: nbstream's retry policy in depth;
            - `docs/widget.md`: the chat widget;
            - `docs/teaching.md`: running this course for a class.
        """),
    ],
)
