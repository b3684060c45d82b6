"""00 · the index: what the course teaches, in which order, and how to use a real endpoint."""

from _cells import Notebook, answer, check, code, md

NOTEBOOK = Notebook(
    number=0,
    slug="index",
    title="Streaming chat completions, from the first byte to a chat UI",
    summary="what you will learn, how to use these notebooks, and how to use a real endpoint",
    goals="""
        **Goals.** Find your way around the course, run your first streamed reply, and know
        how to point every notebook at a real endpoint (OpenAI, vLLM, Ollama, ...) when you
        want to. Everything here runs offline, free and reproducibly against **tutor**, the
        small deterministic teaching model built into nbstream.
    """,
    cells=[
        md("""
            The cell above is the **setup cell**. Every notebook opens with the same one:

            - `TutorServer(...).start()` runs nbstream's OpenAI-compatible tutor server inside
              this kernel, on `127.0.0.1` and a free port. `tokens_per_second` and `ttft_ms`
              set its pace, so streaming is visible but quick.
            - `os.environ.update(...)` points the standard variables at it, exactly as you would
              for any OpenAI-compatible server. `NBSTREAM_MODEL` is the model nbstream asks for.
            - `openai.OpenAI()` is the official SDK's client, configured from those variables.
        """),
        md("""
            ## The course

            Work through the notebooks in order; each builds on the one before.

            <!-- contents -->

            Each notebook explains before it shows, one idea per cell. Run the cells from top
            to bottom (**Run → Run All Cells** works too). The tutor always gives the same reply
            to the same request, so what you see is what the notebook shows when you open it.
        """),
        md("""
            ## A first reply

            `nbstream.chat` sends one message, streams the reply and returns a `ChatResult`.
            Its `.text` is the whole reply.
        """),
        code("""
            reply = nbstream.chat("What is the capital of France?")
            print(reply.text)
        """),
        md("""
            The result also knows which model answered and how many tokens went in and out.
            (Its `footer()` adds timings; notebook 05 is about those.)
        """),
        code("""
            reply.model, reply.usage.prompt_tokens, reply.usage.completion_tokens
        """),
        md("""
            The tutor is deterministic: the same request gets the same reply, every time. That
            is what lets these notebooks keep their outputs, and what makes the exercises'
            checks possible.
        """),
        code("""
            nbstream.chat("What is the capital of France?").text == reply.text
        """),
        md("""
            Ask the tutor what it is. It only knows a handful of scripted prompts, and says so
            honestly for anything else.
        """),
        code("""
            print(nbstream.chat("Who are you?").text)
        """),
        md("""
            ## What the tutor can demonstrate

            The tutor server is built to show what real servers do, on demand:

            - **pace**: the `x-nbstream-pace: tps=50,ttft=300` request header slows it down;
            - **faults**: a model name such as `tutor@drop=5` (or the `x-nbstream-fault`
              header) drops the connection after 5 chunks; `status=429,retry_after=2`,
              `stall=3`, `error=4` and `no_done` do what they say (notebook 04);
            - **dialects**: `dialect=vllm|ollama|litellm|azure|llamacpp|groq` makes it stream
              the way those servers really do (notebook 08);
            - **long replies**: the prompt `/tokens 500` gets exactly 500 tokens.
        """),
        code("""
            print(nbstream.chat("/tokens 12").text)
        """),
        md("""
            ## Using a real endpoint

            Nothing in these notebooks is specific to the tutor: they use the official `openai`
            SDK and the standard variables. To run them against a real model:

            1. set the variables **before** starting Jupyter (never paste a key into a notebook):

               ```bash
               export OPENAI_API_KEY=sk-...                      # OpenAI
               export OPENAI_BASE_URL=http://localhost:11434/v1  # or Ollama, vLLM, llama.cpp, ...
               export NBSTREAM_MODEL=gpt-4.1-mini                # the model to ask for
               ```

            2. in a notebook's setup cell, delete the `tutor = ...` and `os.environ.update(...)`
               lines, and replace `"tutor"` with your model's name where a cell names it.

            Replies then differ from the saved outputs, and the fault and dialect tricks only
            work on the tutor. The exercises' checks always use their own private tutor, so
            they keep working.

            On **Binder** and on a class JupyterHub, a shared tutor server is already running
            and `OPENAI_BASE_URL` points at it, so `%%chat` in a new notebook just works
            (see `docs/teaching.md`).
        """),
        md("""
            ## Exercise 0: ask

            Every notebook ends with exercises. You write a function in the answer cell, then
            run the check cell below it: it calls your function on several inputs and says
            precisely what is wrong, or `✓ all N checks passed`. The worked answers are in
            `notebooks/solutions/`.

            Write `ask(prompt)` that returns the model's whole reply to `prompt` as a string.
            *Hint:* one line with `nbstream.chat`.
        """),
        answer(
            solution="""
                def ask(prompt: str) -> str:
                    return nbstream.chat(prompt).text
            """,
            learner="""
                def ask(prompt: str) -> str:
                    raise NotImplementedError  # your code here
            """,
        ),
        check("""
            from nbstream import exercises

            exercises.check_ask(ask)
        """),
    ],
)
