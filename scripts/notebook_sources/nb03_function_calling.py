"""03 · function calling: tool-call fragments, accumulating arguments, running tools, the loop."""

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=3,
    slug="function-calling",
    title="Function calling",
    summary="tool-call fragments, accumulating arguments, running the tools, the loop",
    goals="""
        **Goals.** See how a model asks to call your functions while streaming: tool calls
        arrive as **fragments**, keyed by an index, whose JSON arguments are split anywhere.
        Accumulate them, run the tools, send the results back, and let the model answer:
        the tool loop. Then let nbstream run that loop for you.
    """,
    cells=[
        md("""
            ## A tool

            A tool is described to the model by a name, a description and a JSON schema of its
            arguments. The model never runs anything: it only asks.
        """),
        code("""
            weather_tool = {"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {"type": "object", "required": ["city"],
                               "properties": {"city": {"type": "string"}}},
            }}
        """),
        md("""
            The helper from notebook 02, now taking the whole conversation, since a tool loop
            sends the history back.
        """),
        code("""
            def get_chunks(messages, **params):
                stream = client.chat.completions.create(
                    model="tutor", messages=messages, stream=True, **params
                )
                return [chunk.model_dump(exclude_unset=True) for chunk in stream]
        """),
        md("""
            Ask something the tool can answer, offering the tool. (The tutor calls a tool when
            words of its name appear in the question, and makes one call per city.)
        """),
        code("""
            question = [{"role": "user", "content": "What's the weather in Berlin and Paris?"}]
            chunks = get_chunks(question, tools=[weather_tool])
            len(chunks)
        """),
        md("""
            ## Fragments

            Look at the first deltas. There is no `content` (it is `None`): instead,
            `tool_calls` holds fragments. The **first fragment** of a call carries its
            `index`, `id`, `type` and function `name`, with empty `arguments`.
        """),
        code("""
            for chunk in chunks[:3]:
                print(chunk["choices"][0]["delta"])
        """),
        md("""
            Later fragments carry only the `index` and the next piece of `arguments`: a JSON
            text split at arbitrary places. Index 1 starts once index 0 is complete.
        """),
        code("""
            [
                (f["index"], f["function"]["arguments"])
                for c in chunks
                for f in c["choices"][0]["delta"].get("tool_calls") or []
            ]
        """),
        md("""
            The reply ends with `finish_reason` `tool_calls`: the model is waiting for results.
        """),
        code("""
            chunks[-1]["choices"][0]["finish_reason"]
        """),
        md("""
            ## Accumulating by index

            Keep one entry per `index`. Set `id` and `name` **once** (some servers repeat them
            on every fragment) and **append** `arguments`.
        """),
        code("""
            def add_fragment(calls, fragment):
                call = calls.setdefault(fragment["index"], {"id": "", "name": "", "arguments": ""})
                function = fragment.get("function") or {}
                call["id"] = call["id"] or fragment.get("id") or ""
                call["name"] = call["name"] or function.get("name") or ""
                call["arguments"] += function.get("arguments") or ""
        """),
        code("""
            calls = {}
            for chunk in chunks:
                for choice in chunk["choices"] or []:
                    for fragment in choice["delta"].get("tool_calls") or []:
                        add_fragment(calls, fragment)
            calls
        """),
        md("""
            Parse the arguments only once the call is complete. Halfway through, they are not
            JSON yet:
        """),
        code("""
            import json

            halfway = calls[0]["arguments"][:9]
            try:
                json.loads(halfway)
            except json.JSONDecodeError as error:
                print(repr(halfway), "->", error)
        """),
        code("""
            [json.loads(call["arguments"]) for call in calls.values()]
        """),
        md("""
            ## Running the tools

            Your code runs the functions the model asked for, with the arguments it gave.
            Here is a (pretend) weather function.
        """),
        code("""
            def get_weather(city: str) -> dict:
                return {"city": city, "temperature_c": {"Berlin": 17, "Paris": 21}.get(city, 15)}

            results = [get_weather(**json.loads(call["arguments"])) for call in calls.values()]
            results
        """),
        md("""
            ## Sending the results back

            The next request holds the whole conversation: the question, the assistant's
            message **with its tool calls**, and one `tool` message per call, linked by
            `tool_call_id`.
        """),
        code("""
            assistant = {"role": "assistant", "content": None, "tool_calls": [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls.values()
            ]}
        """),
        code("""
            tool_messages = [
                {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
                for call, result in zip(calls.values(), results)
            ]
            conversation = question + [assistant] + tool_messages
            [m["role"] for m in conversation]
        """),
        md("""
            Now the model answers in text, using the results (the tutor quotes them verbatim).
        """),
        code("""
            answer_chunks = get_chunks(conversation, tools=[weather_tool])
            print("".join(c["choices"][0]["delta"].get("content") or "" for c in answer_chunks))
        """),
        md("""
            ## The loop, done for you

            That is the **tool loop**: stream, and while the reply asks for tools, run them,
            append the results and stream again. A model may need several rounds.

            nbstream runs it for you. `@nbstream.tool` turns a typed, documented function into
            a tool (the schema comes from the signature and docstring); name it in `tools=`.
        """),
        code("""
            @nbstream.tool
            def get_weather(city: str) -> dict:
                \"\"\"Current weather for a city.

                Args:
                    city: City name, e.g. Berlin.
                \"\"\"
                return {"city": city, "temperature_c": {"Berlin": 17, "Paris": 21}.get(city, 15)}
        """),
        md("""
            Iterating a turn of a `ChatSession` yields every event of every round. Watch the
            rounds, the calls and the results go by.
        """),
        code("""
            session = nbstream.ChatSession()
            turn = session.turn("What's the weather in Berlin and Paris?", tools=["get_weather"])
            for event in turn:
                if type(event).__name__ in ("RoundStarted", "ToolCallDone", "ChoiceFinished"):
                    print(event)
                elif type(event).__name__ == "ToolResult":
                    print("  result:", event.outcome.content)
        """),
        code("""
            print(turn.result.text)
        """),
        md("""
            The session's history now holds the whole exchange, ready for the next turn.
        """),
        code("""
            [m["role"] for m in session.history]
        """),
        md("""
            ## Exercise 3: tool-call fragments

            Write `accumulate_tool_calls(chunks)` that returns the complete tool calls of
            choice 0 as a list, in index order: `[{"id": ..., "name": ..., "arguments": ...}]`
            (an empty list when there are none). It must cope with:

            - several calls, and several different tools;
            - the role and the first fragment arriving in **one** chunk;
            - LiteLLM repeating the `id` on every fragment (set it once!);
            - Ollama sending each call whole, in a single fragment;
            - a usage chunk (`choices: []`) at the end.
        """),
        answer(
            solution="""
                def accumulate_tool_calls(chunks: list[dict]) -> list[dict]:
                    calls = {}
                    for chunk in chunks:
                        for choice in chunk.get("choices") or []:
                            if choice["index"] != 0:
                                continue
                            for fragment in (choice.get("delta") or {}).get("tool_calls") or []:
                                add_fragment(calls, fragment)
                    return [calls[i] for i in sorted(calls)]
            """,
            learner="""
                def accumulate_tool_calls(chunks: list[dict]) -> list[dict]:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_tool_calls(accumulate_tool_calls)
        """),
    ],
)
