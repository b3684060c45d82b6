"""01 · the raw bytes of a stream with httpx, then the SDK's iterator, and what a chunk is."""

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=1,
    slug="first-stream",
    title="Your first stream",
    summary="the raw Server-Sent Events bytes with httpx, the SDK's iterator, what a chunk is",
    goals="""
        **Goals.** See exactly what travels over the wire when you ask for `stream=True`: one
        HTTP response whose body is a series of Server-Sent Events, each carrying a JSON
        **chunk**. Read those bytes yourself with httpx, then let the `openai` SDK do it, and
        learn the parts of a chunk. At the end you write your own SSE parser.
    """,
    cells=[
        md("""
            ## The request

            A streamed request is an ordinary `POST /v1/chat/completions` whose JSON body says
            `"stream": true`. That field is the only switch: the server decides to stream from
            the body, not from any header.
        """),
        code("""
            import httpx, json

            question = [{"role": "user", "content": "What is the capital of France?"}]
            request = {"model": "tutor", "messages": question, "stream": True}
        """),
        md("""
            Send it with httpx (the HTTP library under the SDK) and read the body **as it
            arrives** with `iter_bytes()`. Look at the response headers first: the body is
            `text/event-stream`.
        """),
        code("""
            url = f"{tutor.base_url}/chat/completions"
            with httpx.stream("POST", url, json=request) as response:
                print(response.status_code, response.headers["content-type"])
                pieces = list(response.iter_bytes())
        """),
        md("""
            How the body was cut into `pieces` depends on the network and on timing, so never
            rely on it. Join them: this is the whole body, byte for byte.
        """),
        code("""
            body = b"".join(pieces)
            print(body[:400].decode())
        """),
        md("""
            ## Server-Sent Events

            The body is a series of **events**. Each one is a line `data: <payload>` and then
            an empty line, so events are separated by `"\\n\\n"`. Count them:
        """),
        code("""
            events = body.decode().split("\\n\\n")
            len(events)
        """),
        md("""
            Look at the end. The last event's payload is not JSON but the sentinel `[DONE]`,
            and after the final blank line there is nothing (the empty string).
        """),
        code("""
            events[-2:]
        """),
        md("""
            ## Chunks

            Every other payload is one JSON object, a **chunk**. Parse them all:
        """),
        code("""
            payloads = [e.removeprefix("data: ") for e in events if e]
            chunks = [json.loads(p) for p in payloads if p != "[DONE]"]
            len(chunks)
        """),
        md("""
            Here is the first one. Notice:

            - `object` is always `chat.completion.chunk`, and `id`, `created` and `model` are
              the same in every chunk of one reply;
            - `choices` is a list: one entry per choice, with its `index`;
            - `delta` holds **what is new** in this chunk, here just the `role`.
        """),
        code("""
            print(json.dumps(chunks[0], indent=2))
        """),
        md("""
            The deltas in order: first the role, then small pieces of text (`content`), then an
            empty delta.
        """),
        code("""
            [chunk["choices"][0]["delta"] for chunk in chunks]
        """),
        md("""
            The last chunk has no text: it says **why** the reply ended. `stop` means the model
            finished; `length` would mean it hit `max_tokens`.
        """),
        code("""
            chunks[-1]["choices"][0]["finish_reason"]
        """),
        md("""
            Joining the `content` deltas gives the reply. That is all "streaming" is: the reply
            sent as a list of small differences.
        """),
        code("""
            "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        """),
        md("""
            ## The same with the SDK

            `client.chat.completions.create(..., stream=True)` returns an iterator. The SDK
            splits the events and parses the JSON for you, and gives you `ChatCompletionChunk`
            objects.
        """),
        code("""
            stream = client.chat.completions.create(model="tutor", messages=question, stream=True)
            for chunk in stream:
                print(repr(chunk.choices[0].delta.content), end=" ")
        """),
        md("""
            A chunk object holds the same data as the JSON: `model_dump()` turns it back into a
            dict. (`exclude_unset=True` leaves out the fields the server did not send.)
        """),
        code("""
            stream = client.chat.completions.create(model="tutor", messages=question, stream=True)
            first = next(iter(stream))
            stream.close()  # stop reading: the rest of the reply is not needed
            first.model_dump(exclude_unset=True) == chunks[0]
        """),
        md("""
            The usual streaming loop prints each delta as it arrives. `flush=True` makes each
            piece appear at once instead of when a line ends; `or ""` skips the `None` content
            of the first and last chunks.
        """),
        code("""
            stream = client.chat.completions.create(model="tutor", messages=question, stream=True)
            for chunk in stream:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        """),
        md("""
            ## Why a parser must be careful

            The network may split the body anywhere: inside a line, inside a multi-byte
            character like `ö` or `👋`. nbstream's `parse_stream` takes the body in pieces and
            returns the final completion. Feed it the body one byte at a time: the result does
            not change.
        """),
        code("""
            completion, _ = nbstream.parse_stream([body])
            one_byte_at_a_time = [body[i : i + 1] for i in range(len(body))]
            nbstream.parse_stream(one_byte_at_a_time)[0] == completion
        """),
        md("""
            ## Exercise 1: an SSE parser

            Write `parse_sse(body)` that takes a whole raw body (bytes) and returns the list of
            chunk dicts, in order. Real servers are not all as tidy as the tutor, so:

            - lines may end in `\\r\\n` instead of `\\n`;
            - `data:` may have no space after the colon;
            - a line starting with `:` is a comment (a keep-alive), not data;
            - stop at `data: [DONE]`, but do not require it: some servers just close;
            - if the connection died, the body may end in the middle of an event: an event
              only counts once its blank line has arrived.

            *Hint:* normalise the line endings, split on blank lines and keep all but the last
            piece (it is either empty or incomplete).
        """),
        answer(
            solution="""
                def parse_sse(body: bytes) -> list[dict]:
                    text = body.decode("utf-8").replace("\\r\\n", "\\n").replace("\\r", "\\n")
                    *complete, _unfinished = text.split("\\n\\n")
                    chunks = []
                    for event in complete:
                        lines = [line for line in event.split("\\n") if line.startswith("data:")]
                        data = "\\n".join(line[5:].removeprefix(" ") for line in lines)
                        if not data:
                            continue  # only comments
                        if data == "[DONE]":
                            break
                        chunks.append(json.loads(data))
                    return chunks
            """,
            learner="""
                def parse_sse(body: bytes) -> list[dict]:
                    raise NotImplementedError  # your code here
            """,
        ),
        md("""
            Run the check: it feeds your parser the tutor's real bodies, and versions with
            CRLF line endings, comments, no `[DONE]` and a cut-off last event.
        """),
        check("""
            from nbstream import exercises

            exercises.check_sse_parser(parse_sse)
        """),
    ],
)
