"""06 · async and concurrency: AsyncOpenAI, several streams at once, cancellation."""
# ruff: noqa: E501

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=6,
    slug="async-and-concurrency",
    title="Async and concurrency",
    summary="AsyncOpenAI, several streams at once, results as they finish, cancellation",
    goals="""
        **Goals.** Stream with `openai.AsyncOpenAI`, run several streams at the same time
        instead of one after another, take results as they finish, and stop a stream you no
        longer need, so that the server stops generating it too.
    """,
    cells=[
        md("""
            ## Async streaming

            Jupyter runs an asyncio event loop, so a cell can `await` directly. The async
            client has the same methods as the sync one; the stream is iterated with
            `async for`.
        """),
        code("""
            import asyncio, time

            aclient = openai.AsyncOpenAI()

            async def reply_text(prompt, **params):
                messages = [{"role": "user", "content": prompt}]
                stream = await aclient.chat.completions.create(
                    model="tutor", messages=messages, stream=True, **params
                )
                return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
        """),
        code("""
            await reply_text("What is the capital of France?")
        """),
        md("""
            ## Several streams at once

            Most of a stream's time is spent **waiting** for the server. While one stream
            waits, others can make progress: that is what `asyncio.gather` does. To make the
            waiting visible, ask the tutor for a 300 ms time to first token.
        """),
        code("""
            prompts = ["What is the capital of France?", "Say this is a test", "count to 5", "Hello!"]
            slow = {"extra_headers": {"x-nbstream-pace": "tps=100,ttft=300"}}
        """),
        md("""
            One after another, the waits add up:
        """),
        code("""
            started = time.perf_counter()
            one_by_one = [await reply_text(p, **slow) for p in prompts]
            sequential = time.perf_counter() - started
        """),
        md("""
            All at once, they overlap: the total is close to the **longest** stream, not the
            sum. (Timings vary from run to run; the comparison does not.)
        """),
        code("""
            started = time.perf_counter()
            together = await asyncio.gather(*(reply_text(p, **slow) for p in prompts))
            concurrent = time.perf_counter() - started
            concurrent < sequential / 2
        """),
        md("""
            `gather` returns the results **in the order of the calls**, whichever stream
            finished first:
        """),
        code("""
            together == one_by_one, together[1]
        """),
        md("""
            ## As they finish

            To show each reply as soon as it is complete, use `asyncio.as_completed`. A short
            reply now overtakes a long one started before it.
        """),
        code("""
            race = [reply_text("count to 40", **slow), reply_text("Say this is a test", **slow)]
            for finished in asyncio.as_completed(race):
                print(repr((await finished)[:30]))
        """),
        md("""
            ## Cancellation

            A stream you no longer want (the user pressed Stop, or navigated away) should be
            **cancelled**, not left running. Run one as a task, keeping what arrives:
        """),
        code("""
            received = []

            async def story():
                messages = [{"role": "user", "content": "Tell me a story"}]
                stream = await aclient.chat.completions.create(model="tutor", messages=messages, stream=True)
                async for chunk in stream:
                    received.append(chunk.choices[0].delta.content or "")
        """),
        md("""
            Start it, let it run for a moment, then cancel it. Awaiting a cancelled task
            raises `CancelledError`.
        """),
        code("""
            task = asyncio.create_task(story())
            await asyncio.sleep(0.5)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                print("cancelled")
        """),
        md("""
            Part of the story arrived, not all of it (the whole story is about 320 tokens):
        """),
        code("""
            0 < len(received) < 320
        """),
        md("""
            Cancelling closed the connection, and the server noticed: it stopped generating.
            The tutor's `/health` endpoint counts the streams it still has open.
        """),
        code("""
            import httpx

            await asyncio.sleep(0.1)
            httpx.get(f"{tutor.url}/health").json()["open_streams"]
        """),
        md("""
            A **timeout** is a cancellation with a deadline: `asyncio.wait_for` cancels the
            stream if it takes too long.
        """),
        code("""
            try:
                await asyncio.wait_for(reply_text("Tell me a story", **slow), timeout=0.5)
            except asyncio.TimeoutError:
                print("gave up after 0.5 s")
        """),
        md("""
            ## With nbstream

            `nbstream.achat` and `ChatSession.achat` are the async twins of `chat`. Each
            session keeps its own history, so give concurrent conversations their own.
        """),
        code("""
            replies = await asyncio.gather(*(nbstream.ChatSession().achat(p) for p in prompts))
            [r.usage.completion_tokens for r in replies]
        """),
        md("""
            A cancelled nbstream turn keeps what was received: the session records the
            partial reply and marks the turn interrupted.
        """),
        code("""
            session = nbstream.ChatSession()
            task = asyncio.create_task(session.achat("Tell me a story"))
            await asyncio.sleep(0.5)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            session.turns[-1].interrupted, session.history[-1]["role"]
        """),
        md("""
            ## Exercise 6: all at once

            Write `async def gather_replies(client, prompts)` that streams a reply for every
            prompt **concurrently**, using the `openai.AsyncOpenAI` `client` it is given and
            `model="tutor"`, and returns the reply texts **in the order of the prompts**.
            The check runs it against a paced tutor server and watches how many streams are
            open at once. It is async too: `await` it.
        """),
        answer(
            solution="""
                async def gather_replies(client, prompts: list[str]) -> list[str]:
                    async def one(prompt):
                        messages = [{"role": "user", "content": prompt}]
                        stream = await client.chat.completions.create(
                            model="tutor", messages=messages, stream=True
                        )
                        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

                    return list(await asyncio.gather(*(one(p) for p in prompts)))
            """,
            learner="""
                async def gather_replies(client, prompts: list[str]) -> list[str]:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            await exercises.check_concurrent(gather_replies)
        """),
    ],
)
