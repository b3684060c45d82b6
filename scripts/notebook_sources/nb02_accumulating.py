"""02 · accumulating deltas by hand: the usage chunk, n > 1, nbstream's and the SDK's way."""
# ruff: noqa: E501  (cells are notebook text: long lines here are short in the notebook)

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=2,
    slug="accumulating-deltas",
    title="Accumulating deltas",
    summary="build the final message from the chunks: the usage chunk, n > 1, set-once fields",
    goals="""
        **Goals.** Turn a list of chunks back into the final message, by hand: which fields
        are appended, which are set once, and which keep their last value. Handle the two
        things that break most hand-written loops, the usage-only chunk and several choices
        (`n > 1`), then compare your loop with nbstream's `StreamAccumulator` and the SDK's
        `ChatCompletionStreamState`.
    """,
    cells=[
        md("""
            A small helper: ask the tutor and keep every chunk as a plain dict (as in notebook
            01). Extra keyword arguments go into the request.
        """),
        code("""
            def get_chunks(prompt, **params):
                messages = [{"role": "user", "content": prompt}]
                stream = client.chat.completions.create(
                    model="tutor", messages=messages, stream=True, **params
                )
                return [chunk.model_dump(exclude_unset=True) for chunk in stream]
        """),
        code("""
            chunks = get_chunks("Write a haiku about recursion")
            len(chunks)
        """),
        md("""
            ## The simplest loop

            For one choice, the reply is the `content` of every delta, appended in order.
            `or ""` matters: the first and last deltas have no text.
        """),
        code("""
            text = ""
            for chunk in chunks:
                text += chunk["choices"][0]["delta"].get("content") or ""
            print(text)
        """),
        md("""
            ## The usage chunk

            Ask for token counts with `stream_options={"include_usage": True}` and the server
            adds **one more chunk** after the finish chunk. Look at it: `choices` is empty.
        """),
        code("""
            with_usage = get_chunks(
                "Write a haiku about recursion", stream_options={"include_usage": True}
            )
            with_usage[-1]["choices"], with_usage[-1]["usage"]["completion_tokens"]
        """),
        md("""
            So `chunk["choices"][0]` crashes on it. This is one of the most common streaming
            bugs in the wild. (Some servers even send `"choices": null` here.)
        """),
        code("""
            try:
                for chunk in with_usage:
                    chunk["choices"][0]
            except IndexError as error:
                print("IndexError:", error)
        """),
        md("""
            Loop over the choices instead of taking the first, treat `None` as empty, and keep
            the usage when it comes.
        """),
        code("""
            text, usage = "", None
            for chunk in with_usage:
                for choice in chunk["choices"] or []:
                    text += choice["delta"].get("content") or ""
                usage = chunk.get("usage") or usage
            usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]
        """),
        md("""
            ## Several choices

            With `n=2` the model writes two replies at once. Each chunk still carries **one**
            choice, and its `index` says which; the two replies interleave. (`seed` makes the
            tutor vary the second reply.)
        """),
        code("""
            two = get_chunks("What is the capital of France?", n=2, seed=1)
            [(c["choices"][0]["index"], c["choices"][0]["delta"].get("content")) for c in two[:8]]
        """),
        md("""
            Keep one text per index: a dict keyed by `index`. Each choice also gets its own
            `finish_reason`.
        """),
        code("""
            texts = {}
            for chunk in two:
                for choice in chunk["choices"] or []:
                    piece = choice["delta"].get("content") or ""
                    texts[choice["index"]] = texts.get(choice["index"], "") + piece
            texts
        """),
        md("""
            ## Append, set once, keep the last

            Three rules cover every field of a chunk:

            | rule | fields | why |
            |---|---|---|
            | **append** | `delta.content`, tool-call `arguments` | each delta is the next piece |
            | **set once** | `delta.role`, `id`, `model`, tool-call `id` and `name` | sent in the first chunk only; some servers repeat them, so never append |
            | **keep the last non-null** | `finish_reason`, `usage` | they arrive at the end |

            The role shows why "set once" matters. Ollama (emulated here with a header) repeats
            `role` in every chunk. Appending it, as the SDK's generic merge does, gives:
        """),
        code("""
            from openai.lib.streaming.chat import ChatCompletionStreamState

            hello = [{"role": "user", "content": "Hello!"}]
            ollama = {"x-nbstream-fault": "dialect=ollama"}
        """),
        code("""
            state = ChatCompletionStreamState()
            for chunk in client.chat.completions.create(
                model="tutor", messages=hello, stream=True, extra_headers=ollama
            ):
                state.handle_chunk(chunk)
        """),
        code("""
            role = state.current_completion_snapshot.choices[0].message.role
            len(role), role[:45] + "..."
        """),
        md("""
            ## nbstream's accumulator

            `nbstream.StreamAccumulator` follows the three rules. Feed it chunks (dicts or the
            SDK's objects); `completion()` gives the final `chat.completion` as a dict.
        """),
        code("""
            acc = nbstream.StreamAccumulator()
            for chunk in two:
                acc.feed(chunk)
            [(c["index"], c["message"]["content"]) for c in acc.completion()["choices"]]
        """),
        md("""
            `feed` also returns **events** saying what the chunk changed, which is what a
            display needs: the first chunk of the haiku (only the role) changes nothing on
            screen, the second is one `ContentDelta`.
        """),
        code("""
            acc = nbstream.StreamAccumulator()
            acc.feed(with_usage[0]), acc.feed(with_usage[1])
        """),
        md("""
            On the Ollama stream above, nbstream keeps the role right:
        """),
        code("""
            ollama_chunks = get_chunks("Hello!", extra_headers=ollama)
            acc = nbstream.StreamAccumulator()
            for chunk in ollama_chunks:
                acc.feed(chunk)
            acc.completion()["choices"][0]["message"]["role"]
        """),
        md("""
            And all three agree on the text when the stream is well-behaved:
        """),
        code("""
            state = ChatCompletionStreamState()
            question = [{"role": "user", "content": "What is the capital of France?"}]
            for chunk in client.chat.completions.create(
                model="tutor", messages=question, stream=True, n=2, seed=1
            ):
                state.handle_chunk(chunk)
            sdk_texts = [c.message.content for c in state.current_completion_snapshot.choices]
            sdk_texts == list(texts.values())
        """),
        md("""
            ## Exercise 2: an accumulator

            Write `accumulate(chunks)` that returns the final completion as a dict shaped like
            the API's non-streamed reply (only these keys are checked):

            ```python
            {"model": "tutor",
             "choices": [{"index": 0,
                          "message": {"role": "assistant", "content": "..."},
                          "finish_reason": "stop"},
                         ...],          # one per choice, sorted by index
             "usage": {...} or None}    # from the usage chunk, if there was one
            ```

            It must cope with: the usage chunk (`choices: []`, or `choices: null`), `n=2`, a
            stream with no `[DONE]`, and a stream cut off before its finish chunk
            (`finish_reason` then stays `None`).
        """),
        answer(
            solution="""
                def accumulate(chunks: list[dict]) -> dict:
                    model, usage, choices = None, None, {}
                    for chunk in chunks:
                        model = model or chunk.get("model")  # set once
                        usage = chunk.get("usage") or usage  # keep the last non-null
                        for data in chunk.get("choices") or []:  # [] or None on usage chunks
                            index = data["index"]
                            if index not in choices:
                                message = {"role": None, "content": ""}
                                choices[index] = {"index": index, "message": message}
                            choice, delta = choices[index], data.get("delta") or {}
                            choice["message"]["role"] = choice["message"]["role"] or delta.get("role")
                            choice["message"]["content"] += delta.get("content") or ""
                            choice["finish_reason"] = data.get("finish_reason") or choice.get("finish_reason")
                    ordered = [choices[i] for i in sorted(choices)]
                    return {"model": model, "choices": ordered, "usage": usage}
            """,
            learner="""
                def accumulate(chunks: list[dict]) -> dict:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_accumulator(accumulate)
        """),
    ],
)
