"""07 · the %%chat magic and the chat widget, and why rendering must be throttled (measured)."""
# ruff: noqa: E501

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=7,
    slug="magic-and-widget",
    title="The %%chat magic and the chat widget",
    summary="streaming into cells and a chat UI, and why rendering must be throttled (measured)",
    goals="""
        **Goals.** Use nbstream's two front ends: the `%%chat` cell magic, which streams a
        reply into the cell as Markdown, and `ChatWidget`, a chat window. Then measure why
        both of them **throttle** rendering instead of redrawing on every delta, and write
        a throttle yourself.
    """,
    cells=[
        md("""
            ## The `%%chat` magic

            Load the extension once per kernel.
        """),
        code("""
            %load_ext nbstream
        """),
        md("""
            The body of a `%%chat` cell is the prompt. The reply streams into the output as
            Markdown, and a last line shows the model, the tokens in and out, and the timing.
        """),
        code("""
            %%chat
            What is the capital of France?
        """),
        md("""
            The conversation continues from cell to cell: the magic keeps the history, so
            this question is sent together with the one before.
        """),
        code("""
            %%chat
            Write a haiku about recursion
        """),
        code("""
            %chat history
        """),
        md("""
            Options go on the `%%chat` line (`%chat?` lists them all). `-o NAME` stores the
            `ChatResult` in a variable, `--no-history` asks a one-off question, and `{name}`
            in the prompt is replaced by a variable's value.
        """),
        code("""
            topic = "streaming"
        """),
        code("""
            %%chat --no-history -o answer
            Explain {topic}
        """),
        code("""
            answer.usage.completion_tokens, answer.text.splitlines()[0]
        """),
        md("""
            `--raw` shows every chunk's JSON as it arrives: notebook 01 in one line.
        """),
        code("""
            %%chat --raw --no-history
            Say this is a test
        """),
        md("""
            ## The chat widget

            `ChatWidget` is a chat window on the same machinery: a transcript, an input box,
            Send / Stop / New chat, a model selector and a status line. Type in it and press
            Enter.
        """),
        code(
            """
            from nbstream.widget import ChatWidget

            chat = ChatWidget(system="You are a patient tutor.")
            chat
            """
        ),
        md("""
            Code can drive it too: `await chat.asend(...)` sends a message as if typed and
            waits for the reply, which also appears in the widget above.
        """),
        code("""
            reply = await chat.asend("What is the capital of France?")
            reply.text
        """),
        code("""
            [(m["role"], m["content"]) for m in chat.messages]
        """),
        md("""
            ## Why rendering must be throttled

            A display in a notebook shows **a whole value**: to show one more delta, the
            kernel sends the whole text so far to the browser, which parses the Markdown and
            redraws it. Redrawing on every delta therefore costs the sum of all the prefixes
            of the reply: it grows with the **square** of its length.

            Take a reply of 1000 tokens, as the tutor streams it:
        """),
        code("""
            stream = client.chat.completions.create(
                model="tutor", messages=[{"role": "user", "content": "/tokens 1000"}], stream=True
            )
            deltas = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
            len(deltas), sum(len(d) for d in deltas)
        """),
        md("""
            Redrawn on every delta, the browser receives 1000 messages and megabytes of text
            for an answer of a few kilobytes:
        """),
        code("""
            prefixes = [len("".join(deltas[: i + 1])) for i in range(len(deltas))]
            f"{len(prefixes)} redraws, {sum(prefixes) / 1e6:.1f} MB sent"
        """),
        md("""
            Throttled to at most one redraw every 0.1 s, the count depends on the pace, not
            on the number of deltas. At 100 tokens/s (a delta every 10 ms) the reply takes
            10 s, so about 100 redraws. `nbstream.throttle.Throttle` is the guard the magic
            uses; here it runs on a simulated clock so the numbers are exact.
        """),
        code("""
            from nbstream.throttle import Throttle

            now = 0.0
            throttle = Throttle(interval=0.1, clock=lambda: now)
        """),
        code("""
            sent = []
            for i, size in enumerate(prefixes):
                now = i * 0.01  # one delta every 10 ms
                if throttle.due() or i == len(prefixes) - 1:  # always draw the end
                    throttle.fire()
                    sent.append(size)
        """),
        code("""
            f"{len(sent)} redraws, {sum(sent) / 1e6:.2f} MB sent"
        """),
        md("""
            Ten times fewer messages and bytes, and the reader sees no difference: nobody
            reads faster than ten updates a second. nbstream goes further: the magic seals
            finished paragraphs into outputs of their own, so each redraw only carries the
            unfinished tail, and the widget sends only the new text; both keep the traffic
            proportional to the reply's length.

            **Measure it.** Push both sequences of redraws through a real display in this
            kernel (it starts and ends empty). Look at the browser while it runs: redrawing
            on every delta makes it work hard. The wall-clock times vary, the comparison
            does not.
        """),
        code("""
            import time
            from IPython.display import display

            text = "".join(deltas)
            handle = display({}, raw=True, display_id=True)
        """),
        code("""
            def push(sizes):
                \"\"\"Redraw the display once per size; return the seconds it took.\"\"\"
                started = time.perf_counter()
                for size in sizes:
                    handle.update({"text/markdown": text[:size]}, raw=True)
                return time.perf_counter() - started
        """),
        md("""
            Time the throttled redraws first, three times, keeping the best run (other work
            in the kernel can only make a run slower), then the redraw-every-delta loop.
        """),
        code("""
            throttled = min(push(sent) for _ in range(3))
            every_delta = push(prefixes)
            handle.update({}, raw=True)  # leave the display empty again
        """),
        code("""
            every_delta > 3 * throttled
        """),
        md("""
            That is only the kernel's side. The browser pays more for each redraw: it
            re-parses the Markdown and rebuilds the page's elements, all while the stream
            keeps coming.

            ## Exercise 7: a throttle

            Write `throttled_renders(arrivals, interval)`. `arrivals` is a list of
            `(t, delta)` pairs in order (`t` in seconds); return the list of texts shown on
            screen, one per redraw:

            - a redraw shows the whole text received so far;
            - redraw when a delta arrives and at least `interval` seconds have passed since
              the last redraw (the first delta is always drawn at once);
            - when the deltas end, redraw once more if the screen does not yet show the
              whole text, so the final text is never lost;
            - no deltas, no redraws.
        """),
        answer(
            solution="""
                def throttled_renders(arrivals: list[tuple[float, str]], interval: float) -> list[str]:
                    shown, text, last = [], "", None
                    for t, delta in arrivals:
                        text += delta
                        if last is None or t - last >= interval:
                            shown.append(text)
                            last = t
                    if arrivals and shown[-1] != text:
                        shown.append(text)
                    return shown
            """,
            learner="""
                def throttled_renders(arrivals: list[tuple[float, str]], interval: float) -> list[str]:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_throttle(throttled_renders)
        """),
    ],
)
