"""05 · usage and telemetry: include_usage, tokens, time to first token, tokens/s, cost."""

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=5,
    slug="usage-and-telemetry",
    title="Usage and telemetry",
    summary="include_usage, token counts, time to first token, tokens per second, a cost estimate",
    goals="""
        **Goals.** Measure a stream: how many tokens went in and out (the usage chunk),
        how long the user waited for the first token (**TTFT**), and how fast the reply was
        generated (**tokens per second**). Turn token counts into a cost estimate. Timings
        come from recordings first, so the numbers here are exact, then from live streams.
    """,
    cells=[
        md("""
            ## Token counts

            A streamed reply carries no token counts unless you ask. With
            `stream_options={"include_usage": True}` the server adds a last chunk (with empty
            `choices`) that holds them.
        """),
        code("""
            haiku = [{"role": "user", "content": "Write a haiku about recursion"}]
            stream = client.chat.completions.create(
                model="tutor", messages=haiku, stream=True, stream_options={"include_usage": True}
            )
            usage = [chunk.usage for chunk in stream if chunk.usage][-1]
            print(usage.model_dump_json(indent=2, exclude_none=True))
        """),
        md("""
            - `prompt_tokens`: what you sent (the whole conversation, every time);
            - `completion_tokens`: what the model wrote, including any hidden
              `reasoning_tokens`;
            - `cached_tokens`: the part of the prompt the provider had cached (cheaper).

            Without the option, no chunk has usage at all:
        """),
        code("""
            stream = client.chat.completions.create(model="tutor", messages=haiku, stream=True)
            [chunk.usage for chunk in stream if chunk.usage]
        """),
        md("""
            nbstream always asks for usage (and drops the option for servers that refuse it).
        """),
        code("""
            reply = nbstream.chat("Write a haiku about recursion")
            reply.usage.prompt_tokens, reply.usage.completion_tokens
        """),
        md("""
            ## Time to first token, tokens per second

            Three moments matter: the request is sent (t = 0), the **first token** arrives,
            the **last token** arrives. From them:

            - **TTFT** = first token time. It is the wait the user feels, and it grows with
              the prompt's length, the queue and the network.
            - **tokens per second** = (tokens − 1) / (last − first). Measured over generation
              only: n tokens span n − 1 gaps, and the wait before the first token is not
              the model writing.

            A **recording** keeps the arrival time `t` of every event. nbstream ships a few;
            this one is the tutor saying hello at 30 tokens/s.
        """),
        code("""
            from nbstream.recording import load_recording
            from nbstream.server.replay import SHIPPED_DIR

            recording = load_recording(SHIPPED_DIR / "first-stream.jsonl")
            [(e.t, e.data["choices"][0]["delta"]) for e in recording.events[:4]]
        """),
        md("""
            The first event (only the role) is not a token. Keep the times of the chunks that
            carry text:
        """),
        code("""
            times = [
                e.t for e in recording.events
                if isinstance(e.data, dict) and any(
                    (c.get("delta") or {}).get("content") for c in e.data.get("choices") or []
                )
            ]
            ttft, last, tokens = times[0], times[-1], len(times)
            ttft, last, tokens
        """),
        code("""
            round((tokens - 1) / (last - ttft), 1)
        """),
        md("""
            Dividing by the total time instead would understate the speed, because the
            first 0.36 s were spent waiting, not writing:
        """),
        code("""
            round(tokens / last, 1)
        """),
        md("""
            ## Measuring live

            The tutor can **replay** a recording as a model, with its original pace
            (`replay:first-stream`), here twice as fast (`@speed=2`). nbstream times every
            stream: `result.timing` holds the figures, and `footer()` shows them in one line.
            (The measured numbers differ a little on every run.)
        """),
        code("""
            result = nbstream.chat("Hello!", model="replay:first-stream@speed=2")
            print(result.footer())
        """),
        md("""
            Twice as fast as recorded is about 60 tokens/s:
        """),
        code("""
            abs(result.timing.tokens_per_second - 60) < 12
        """),
        md("""
            TTFT is set by what happens before generation starts. The `x-nbstream-pace`
            header delays the tutor's first token by 800 ms, as a long prompt or a busy
            server would:
        """),
        code("""
            slow_start = {"x-nbstream-pace": "ttft=800"}
            result = nbstream.chat("Write a haiku about recursion", extra_headers=slow_start)
            result.timing.time_to_first_token >= 0.8
        """),
        md("""
            ## What it costs

            Providers bill per token, with different prices for input and output (and a
            discount for cached input). Prices change: the figures below are examples in US
            dollars per million tokens; check your provider's page.
        """),
        code("""
            PRICES = {"gpt-4.1-mini": (0.40, 1.60), "gpt-4.1": (2.00, 8.00)}  # USD per 1M tokens

            def cost(usage, model):
                price_in, price_out = PRICES[model]
                return (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1e6
        """),
        md("""
            One haiku is a tiny fraction of a cent; a million of them is not. Output tokens
            dominate: they cost four times as much, and a chat's replies are usually longer
            than its questions.
        """),
        code("""
            for model in PRICES:
                print(f"{model:13} one reply ${cost(reply.usage, model):.6f}, "
                      f"a million replies ${cost(reply.usage, model) * 1e6:,.0f}")
        """),
        md("""
            Remember that a conversation resends its history: the prompt of the tenth turn
            contains the nine before it, so `prompt_tokens` (and the cost) grows every turn.
        """),
        code("""
            session = nbstream.ChatSession()
            questions = ["Hello!", "Write a haiku about recursion", "Hello!"]
            [session.chat(q).usage.prompt_tokens for q in questions]
        """),
        md("""
            ## Exercise 5: stream statistics

            Write `stream_stats(timed)`, where `timed` is a list of `(t, chunk)` pairs in
            arrival order (`t` in seconds since the request, `chunk` a dict), that returns

            ```python
            {"ttft": ..., "completion_tokens": ..., "tokens_per_second": ...}
            ```

            - a chunk **carries a token** when some choice's `delta` has non-empty `content`;
            - `ttft`: the `t` of the first such chunk (`None` if there is none);
            - `completion_tokens`: from the usage chunk if there is one, else the number of
              token-carrying chunks;
            - `tokens_per_second`: `(completion_tokens - 1) / (last - first)` over the first and
              last token-carrying chunks, or `None` when that is not defined (fewer than 2
              tokens, or no time between them).
        """),
        answer(
            solution="""
                def stream_stats(timed: list[tuple[float, dict]]) -> dict:
                    token_times, usage = [], None
                    for t, chunk in timed:
                        usage = chunk.get("usage") or usage
                        choices = chunk.get("choices") or []
                        if any((c.get("delta") or {}).get("content") for c in choices):
                            token_times.append(t)
                    tokens = usage["completion_tokens"] if usage else len(token_times)
                    rate = None
                    if token_times and token_times[-1] > token_times[0] and tokens > 1:
                        rate = (tokens - 1) / (token_times[-1] - token_times[0])
                    ttft = token_times[0] if token_times else None
                    return {"ttft": ttft, "completion_tokens": tokens, "tokens_per_second": rate}
            """,
            learner="""
                def stream_stats(timed: list[tuple[float, dict]]) -> dict:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_stream_stats(stream_stats)
        """),
    ],
)
