"""04 · retry and errors: the tutor's faults, what the SDK retries and not, backoff, recovery."""
# ruff: noqa: E501

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=4,
    slug="retry-and-errors",
    title="Retries and errors",
    summary="faults on demand, what the SDK retries and what it does not, backoff, Retry-After",
    goals="""
        **Goals.** Make things go wrong on purpose with the tutor server's faults, and see
        the three places a streamed request can fail: **before** the stream (an HTTP
        status, which the SDK retries), **during** it (a dropped connection or an error
        event, which nobody retries for you) and **quietly** (a body that just ends). Learn
        how long to wait between attempts, and watch nbstream recover a dropped stream.
    """,
    cells=[
        md("""
            ## Faults on demand

            The tutor reads a **fault spec** from the `x-nbstream-fault` header or from the
            model name after `@`. `status=429,retry_after=0.2` refuses the request the way a
            rate-limited OpenAI endpoint does.
        """),
        code("""
            question = [{"role": "user", "content": "What is the capital of France?"}]
            rate_limited = {"x-nbstream-fault": "status=429,retry_after=0.2"}
        """),
        md("""
            Turn the SDK's own retries off (`max_retries=0`) to see the raw error: a
            `RateLimitError` with status 429 and a `retry-after` header, **before** any chunk.
        """),
        code("""
            no_retries = client.with_options(max_retries=0)
            try:
                no_retries.chat.completions.create(
                    model="tutor", messages=question, stream=True, extra_headers=rate_limited
                )
            except openai.RateLimitError as error:
                print(type(error).__name__, error.status_code, error.response.headers["retry-after"])
        """),
        md("""
            ## What the SDK retries

            By default the SDK tries **3 times** (`max_retries=2`) when the request fails
            before the response starts: connection errors, timeouts, and the statuses 408, 409,
            429 and 5xx (unless the server says `x-should-retry: false`). `times=2` makes the
            fault hit only the first two requests (`id=` just names this fault's counter), so
            the third attempt succeeds. `with_raw_response` tells how many retries it took.
        """),
        code("""
            overloaded = {"x-nbstream-fault": "status=503,times=2,id=sdk-demo"}
            raw = client.chat.completions.with_raw_response.create(
                model="tutor", messages=question, stream=True, extra_headers=overloaded
            )
            raw.retries_taken
        """),
        code("""
            print("".join(chunk.choices[0].delta.content or "" for chunk in raw.parse()))
        """),
        md("""
            ## What the SDK does not retry

            Once the headers have arrived, the SDK's retry loop is over. If the connection
            drops halfway, iteration raises, and the text you already showed is all you have.
            `tutor@drop=5` drops the connection after 5 chunks.
        """),
        code("""
            try:
                for chunk in client.chat.completions.create(
                    model="tutor@drop=5", messages=question, stream=True
                ):
                    print(repr(chunk.choices[0].delta.content), end=" ")
            except openai.APIConnectionError as error:
                print("\\n", type(error).__name__, "caused by", type(error.__cause__).__name__)
        """),
        md("""
            A server can also report an error **inside** the stream, as an event
            `data: {"error": {...}}`. The SDK raises `openai.APIError` with the server's
            message. Not retried either. (`error=4`: after 4 chunks.)
        """),
        code("""
            try:
                for chunk in client.chat.completions.create(
                    model="tutor@error=4", messages=question, stream=True
                ):
                    print(repr(chunk.choices[0].delta.content), end=" ")
            except openai.APIError as error:
                print("\\n", type(error).__name__, error.code, "-", error.message)
        """),
        md("""
            And a body that ends without `data: [DONE]` raises nothing at all: iteration just
            stops. The only way to tell a complete reply from a cut one is `finish_reason`.
        """),
        code("""
            last = None
            for chunk in client.chat.completions.create(
                model="tutor@no_done", messages=question, stream=True
            ):
                last = chunk
            last.choices[0].finish_reason
        """),
        md("""
            ## How long to wait

            Retrying at once hammers a server that is already struggling. The usual rule is
            **exponential backoff**: wait 0.5 s, then 1 s, 2 s, 4 s... up to a cap, minus a
            random **jitter** so that many clients do not retry in lockstep. The SDK waits
            `min(0.5 * 2**n, 8) * (1 - 0.25 * random())`. `nbstream.RetryPolicy` does the
            same, for the whole stream. Without jitter, the schedule is:
        """),
        code("""
            policy = nbstream.RetryPolicy(max_attempts=6, jitter=0)
            dropped = nbstream.StreamDroppedError("connection lost")
            [policy.next_delay(dropped, attempt) for attempt in range(1, 7)]
        """),
        md("""
            `None` means "give up": the sixth attempt was the last. With jitter (the default
            25 %), each wait is a little shorter, differently for each client. A seeded random
            generator shows it reproducibly:
        """),
        code("""
            import random

            jittery = nbstream.RetryPolicy()
            [round(jittery.next_delay(dropped, 1, random.Random(seed)), 3) for seed in range(5)]
        """),
        md("""
            ## Retry-After

            When the server says how long to wait (`retry-after: 2`, or `retry-after-ms`),
            believe it instead of guessing. But a server asking for minutes is telling you
            not to retry now: nbstream gives up beyond 60 s, the SDK (since 2.52) beyond 120 s.
        """),
        code("""
            from nbstream.retry import parse_retry_after

            wait = parse_retry_after({"Retry-After": "2"})
            limited = nbstream.EndpointError("HTTP 429", status=429, retryable=True, retry_after=wait)
            policy.next_delay(limited, 1)
        """),
        code("""
            patience = nbstream.EndpointError("HTTP 429", status=429, retryable=True, retry_after=300)
            print(policy.next_delay(patience, 1))
        """),
        md("""
            A 400 or 404 is never retried: asking again cannot fix a bad request.
        """),
        code("""
            print(policy.next_delay(nbstream.EndpointError("HTTP 400", status=400), 1))
        """),
        md("""
            ## A dropped stream, recovered

            `nbstream.stream_chat` retries **the whole stream**, drops included. Iterate it
            for events: the text arrives, the connection drops after 5 chunks, a
            `StreamRestarted` event says so (a display clears what it showed), and the second
            attempt streams the full reply. (`times=1`: only the first request drops; a short,
            jitter-free policy keeps the notebook quick.)
        """),
        code("""
            from nbstream.events import ContentDelta, StreamRestarted

            def show(stream):
                for event in stream:
                    if isinstance(event, StreamRestarted):
                        print(f"\\n[{event.describe()}]")
                    elif isinstance(event, ContentDelta):
                        print(event.text, end="")
        """),
        code("""
            quick = nbstream.RetryPolicy(initial_delay=0.1, jitter=0)
            stream = nbstream.stream_chat(
                client, model="tutor@drop=5,times=1", messages=question, retry=quick
            )
            show(stream)
        """),
        code("""
            result = stream.result()
            result.attempts, result.text
        """),
        md("""
            Starting over wastes what was already generated. `mode="continue"` instead sends
            the partial reply back and asks the model to carry on. Models tend to repeat a few
            words when they do (the tutor does it on purpose); nbstream splices the overlap
            away, so the reply reads as if nothing happened.
        """),
        code("""
            haiku = [{"role": "user", "content": "Write a haiku about recursion"}]
            stream = nbstream.stream_chat(
                client, model="tutor@drop=7,times=1", messages=haiku,
                retry=quick.with_options(mode="continue"),
            )
            show(stream)
        """),
        md("""
            ## Exercise 4: how long to wait

            Write `retry_delay(status, headers, attempt)` that returns how many seconds to wait
            before the next attempt, or `None` to give up. `attempt` is the number of the
            attempt that just failed (1, 2, ...). The rules:

            1. at most **3 attempts** in all: after attempt 3, give up;
            2. `x-should-retry: false` means give up, `x-should-retry: true` means retry
               (whatever the status);
            3. otherwise retry only 408, 409, 429 and 5xx;
            4. if the server sent `retry-after-ms` (milliseconds) or else `retry-after`
               (seconds), wait that long; if it asks for more than 60 s, give up;
            5. otherwise wait `0.5 * 2 ** (attempt - 1)` seconds (no jitter, to keep it
               checkable).

            Header names are case-insensitive: `Retry-After` and `retry-after` are the same.
            The check uses real refusals from the tutor server.
        """),
        answer(
            solution="""
                def retry_delay(status: int, headers: dict, attempt: int) -> float | None:
                    headers = {name.lower(): value for name, value in headers.items()}
                    if attempt >= 3 or headers.get("x-should-retry") == "false":
                        return None
                    if headers.get("x-should-retry") != "true" and status not in (408, 409, 429) and status < 500:
                        return None
                    if "retry-after-ms" in headers:
                        wait = float(headers["retry-after-ms"]) / 1000
                    else:
                        wait = float(headers.get("retry-after", 0))
                    if wait > 0:
                        return wait if wait <= 60 else None
                    return 0.5 * 2 ** (attempt - 1)
            """,
            learner="""
                def retry_delay(status: int, headers: dict, attempt: int) -> float | None:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_retry_delay(retry_delay)
        """),
    ],
)
