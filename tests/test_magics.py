"""`%%chat` / `%chat` through a real IPython shell against the real tutor server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import get_ipython
from IPython.utils.capture import capture_output

from nbstream.endpoint import Endpoint
from nbstream.magics import (
    USAGE,
    ChatMagics,
    interpolate,
    load_ipython_extension,
    protect_chat_input,
    split_options,
)
from nbstream.result import ChatResult
from nbstream.retry import RetryPolicy
from nbstream.server import TutorServer
from nbstream.session import ChatSession
from nbstream.tools import ToolRegistry

FAST_RETRY = RetryPolicy(max_attempts=2, initial_delay=0.01, jitter=0.0)


@pytest.fixture(scope="module")
def server() -> Iterator[TutorServer]:
    with TutorServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def ip() -> Any:
    shell = get_ipython()
    load_ipython_extension(shell)
    return shell


@pytest.fixture
def session(ip: Any, server: TutorServer) -> ChatSession:
    """A fresh conversation on the tutor, shown with rich displays (as in a notebook)."""
    chat = ChatSession(endpoint=Endpoint(server.base_url, "x", "test", embedded=True))
    chat.retry = FAST_RETRY
    chat.settings["display"] = "rich"
    ip.register_magics(ChatMagics(ip, session=chat))
    return chat


@dataclass
class Cell:
    stdout: str
    stderr: str
    raw: list[Any]  # every publish, updates included
    error: BaseException | None

    @property
    def saved(self) -> list[dict[str, str]]:
        """Display outputs after applying updates, as a notebook saves them."""
        outputs: list[dict[str, Any]] = []
        for item in self.raw:
            display_id = item.transient.get("display_id")
            if item.update:
                for out in outputs:
                    if out["id"] == display_id:
                        out["data"] = item.data
            else:
                outputs.append({"id": display_id, "data": item.data, "first": item.data})
        assert all(o["data"] == o["first"] for o in outputs)  # saved == what nbval sees
        return [o["data"] for o in outputs if o["data"]]

    @property
    def markdown(self) -> str:
        return "".join(d["text/markdown"] for d in self.saved if "text/plain" not in d)


def run(ip: Any, source: str) -> Cell:
    with capture_output() as captured:
        result = ip.run_cell(source)
    return Cell(captured.stdout, captured.stderr, captured.outputs, result.error_in_exec)


def test_a_cell_streams_markdown_and_ends_with_a_footer(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%%chat -o reply\nHello!")
    assert cell.error is None, cell.stderr
    reply = ip.user_ns["reply"]
    assert isinstance(reply, ChatResult)
    assert cell.markdown == reply.text and "tutor" in reply.text
    footer = cell.saved[-1]
    assert footer["text/plain"] == reply.footer()
    assert footer["text/plain"].startswith("tutor · ") and "TTFT" in footer["text/plain"]
    assert any(item.update for item in cell.raw)  # it was live


def test_a_line_prompt_keeps_its_quotes_and_question_mark(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%chat What's the capital of France?")
    assert cell.error is None, cell.stderr
    assert "Paris" in cell.markdown
    assert session.history[0]["content"] == "What's the capital of France?"


@pytest.mark.parametrize("source", ["%%chat", "%%chat -m tutor\n\n", "%chat", "%chat -t 0.5"])
def test_an_empty_prompt_gives_the_usage_line(ip: Any, session: ChatSession, source: str) -> None:
    cell = run(ip, source)
    assert isinstance(cell.error, UsageError)
    assert cell.stderr == f"UsageError: {USAGE}\n"


def test_user_variables_are_interpolated(ip: Any, session: ChatSession) -> None:
    ip.user_ns.update(country="France", n=3)
    run(ip, "%%chat\nList {n} EU countries, like {country!r}; not {{n}} or {missing}.")
    assert session.history[0]["content"] == (
        "List 3 EU countries, like 'France'; not {n} or {missing}."
    )


def test_interpolation_leaves_code_and_json_alone() -> None:
    ns = {"x": [1, 2], "obj": {"k": "v"}}
    assert interpolate("{x[1]} {obj[k]} {x.__len__}", ns).startswith("2 v <method")
    assert interpolate('json {"a": 1} and f() { return 1; }', ns) == (
        'json {"a": 1} and f() { return 1; }'
    )
    with pytest.raises(UsageError, match="cannot fill"):
        interpolate("{x[9]}", ns)


def test_options_are_split_from_the_prompt() -> None:
    parser = ChatMagics.chat.parser
    assert split_options("-m tutor -t 0.5 What's up?", parser) == (
        ["-m", "tutor", "-t", "0.5"],
        "What's up?",
    )
    assert split_options("--system 'Be terse' --stop=END -- -5 degrees", parser) == (
        ["--system", "Be terse", "--stop=END"],
        "-5 degrees",
    )
    assert split_options("-5 degrees in Celsius", parser) == ([], "-5 degrees in Celsius")
    with pytest.raises(UsageError, match="unknown option --nope"):
        split_options("--nope hi", parser)


def test_request_options_shape_the_reply(ip: Any, session: ChatSession) -> None:
    cell = run(
        ip,
        "%%chat --max-tokens 5 -o r --no-history -s 'You are terse' -t 0 --seed 1\nTell me a story",
    )
    reply = ip.user_ns["r"]
    assert reply.finish_reason == "length" and reply.usage.completion_tokens == 5
    assert "cut at max tokens" in cell.saved[-1]["text/plain"]
    assert session.history == []  # --no-history
    cell = run(ip, "%%chat --stop Paris -o r\nWhat is the capital of France?")
    assert "Paris" not in ip.user_ns["r"].text


def test_json_mode_and_several_choices(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%%chat --json\nList 5 EU countries as JSON")
    assert cell.markdown.startswith("```json\n") and cell.markdown.endswith("\n```")
    cell = run(ip, "%%chat -n 2 --side -o r\nHello!")
    assert len(ip.user_ns["r"].texts) == 2
    (table,) = [d for d in cell.saved if "<table>" in d.get("text/markdown", "")]
    assert table["text/markdown"].count("<td") == 2


def test_memory_history_reset_and_new(ip: Any, session: ChatSession) -> None:
    run(ip, "%chat Hello!")
    run(ip, "%chat What is the capital of France?")
    assert [m["role"] for m in session.history] == ["user", "assistant"] * 2
    cell = run(ip, "%chat history")
    assert cell.stdout.startswith("user: Hello!\nassistant: Hello!")
    assert "user: What is the capital of France?" in cell.stdout
    run(ip, "%%chat --new\nHello!")
    assert len(session.history) == 2
    cell = run(ip, "%chat reset")
    assert session.history == [] and "cleared" in cell.stdout
    assert "empty" in run(ip, "%chat history").stdout


def test_config_shows_and_sets_defaults_with_the_key_masked(
    ip: Any, session: ChatSession, server: TutorServer
) -> None:
    key = "sk-test-abcdefghijklmnop"
    cell = run(
        ip,
        f"%chat config temperature=0.2 model=tutor system='Be brief' base_url={server.base_url} api_key={key}",
    )
    assert cell.error is None, cell.stderr
    assert key not in cell.stdout and "sk-…mnop" in cell.stdout
    assert session.settings["temperature"] == 0.2 and session.system == "Be brief"
    assert "temperature  0.2" in cell.stdout
    run(ip, "%chat config temperature=")
    assert "temperature" not in session.settings
    cell = run(ip, "%chat config colour=blue")
    assert isinstance(cell.error, UsageError) and "unknown setting 'colour'" in cell.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("%%chat -m nope\nHi", "model 'nope' was not found"),
        ("%%chat -t 5\nHi", "bad request (400)"),
        ("%%chat --base-url http://127.0.0.1:9/v1\nHi", "cannot connect to http://127.0.0.1:9/v1"),
        ("%%chat --profile nowhere\nHi", "unknown profile 'nowhere'"),
        ("%%chat --tools no_such_tool\nHi", "unknown tool 'no_such_tool'"),
    ],
)
def test_errors_end_the_cell_in_one_line(
    ip: Any, session: ChatSession, source: str, expected: str
) -> None:
    cell = run(ip, source)
    assert isinstance(cell.error, UsageError)
    assert expected in cell.stderr
    assert cell.stderr.count("\n") == 1 and "Traceback" not in cell.stderr


def test_a_wrong_key_names_the_url_and_the_variable(ip: Any, session: ChatSession) -> None:
    with TutorServer(api_key="sk-right-key-123456") as locked:
        session.endpoint = Endpoint(locked.base_url, "sk-wrong-key-000000", "test")
        cell = run(ip, "%%chat -m tutor\nHi")
    assert locked.base_url in cell.stderr and "OPENAI_API_KEY" in cell.stderr
    assert "sk-wrong" not in cell.stderr and cell.stderr.count("\n") == 1


def test_a_midstream_error_keeps_the_partial_reply_on_screen(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%%chat -m tutor@error=8\nExplain quantum computing")
    assert isinstance(cell.error, UsageError) and cell.stderr.count("\n") == 1
    assert len(cell.markdown) > 10  # the text that came before the error stays
    assert session.turns[-1].error and session.history[-1]["content"] == cell.markdown


def test_a_dropped_stream_is_retried_with_a_status_line(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%%chat -m tutor@drop=6,times=1,id=magic -o r\nExplain quantum computing")
    assert cell.error is None, cell.stderr
    assert cell.stdout.startswith("↻ ") and "retrying in" in cell.stdout
    reply = ip.user_ns["r"]
    assert reply.attempts == 2 and "1 retry" in cell.saved[-1]["text/plain"]
    assert cell.markdown.endswith(reply.text)


def test_tool_calls_show_as_blocks(ip: Any, session: ChatSession) -> None:
    registry = ToolRegistry()

    @registry.register
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"18 °C and sunny in {city}"

    session.registry = registry
    cell = run(ip, "%%chat --tools get_weather -o r\nWhat's the weather in Paris?")
    assert cell.error is None, cell.stderr
    blocks = [d["text/markdown"] for d in cell.saved]
    assert blocks[0].startswith("🔧 **get_weather**") and "Paris" in blocks[0]
    assert blocks[1] == "↳ **get_weather** → ` 18 °C and sunny in Paris `"
    assert "18 °C" in ip.user_ns["r"].text


def test_raw_prints_each_chunk_and_no_stream_shows_only_the_end(
    ip: Any, session: ChatSession
) -> None:
    cell = run(ip, "%%chat --raw\nHello!")
    lines = cell.stdout.splitlines()
    assert len(lines) > 5 and all(line.startswith('{"id":') for line in lines)
    assert not any(item.update for item in cell.raw)
    cell = run(ip, "%%chat --no-stream\nHello!")
    assert not any(item.update for item in cell.raw) and "tutor" in cell.markdown


def test_a_terminal_shell_gets_plain_streamed_text(ip: Any, session: ChatSession) -> None:
    session.settings["display"] = "auto"  # the test shell is a terminal shell
    cell = run(ip, "%chat Hello!")
    assert cell.raw == [] and cell.stdout.startswith("Hello! 👋") and "[tutor · " in cell.stdout


def test_input_cleanup_only_touches_chat_lines() -> None:
    assert protect_chat_input(["%%chat\n"]) == ["%%chat\n", " \n"]
    assert protect_chat_input(["%%chat -m x"]) == ["%%chat -m x\n", " \n"]
    assert protect_chat_input(["%%chat\n", "Why?\n"]) == ["%%chat\n", "Why?\n"]
    assert protect_chat_input(["%chat Why?\n"]) == [
        "get_ipython().run_line_magic('chat', 'Why?')\n"
    ]
    assert protect_chat_input(["%chat?\n"]) == ["%chat?\n"]  # help still works
    assert protect_chat_input(["x = 1?\n"]) == ["x = 1?\n"]


def test_a_config_line_is_never_sent_to_the_model(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%chat config api_key=sk-abc def")
    assert isinstance(cell.error, UsageError) and "key=value" in cell.stderr
    assert session.history == [] and "sk-abc" not in cell.stderr


def test_attempts_and_continue_are_per_cell(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%%chat --attempts 1 -m tutor@drop=6,times=1,id=once\nExplain quantum computing")
    assert isinstance(cell.error, UsageError) and "connection lost after 6 chunks" in str(
        cell.error
    )
    full = run(ip, "%%chat --no-history -o whole\nExplain quantum computing")
    assert full.error is None
    cell = run(
        ip,
        "%%chat --no-history --continue -m tutor@drop=40,times=1,id=cont -o r\n"
        "Explain quantum computing",
    )
    assert cell.error is None, cell.stderr
    reply = ip.user_ns["r"]
    assert reply.attempts == 2 and reply.text == ip.user_ns["whole"].text
    assert session.retry is FAST_RETRY  # the cell's policy did not leak into the session


def test_retry_defaults_are_set_through_config(ip: Any, session: ChatSession) -> None:
    cell = run(ip, "%chat config attempts=5 retry_mode=continue stall_timeout=7")
    assert cell.error is None, cell.stderr
    assert session.retry is not None
    assert (session.retry.max_attempts, session.retry.mode, session.retry.stall_timeout) == (
        5,
        "continue",
        7,
    )
    assert "5 attempts, continue, stall 7 s" in cell.stdout
    bad = run(ip, "%chat config attempts=0")
    assert isinstance(bad.error, UsageError) and "max_attempts" in str(bad.error)


def test_confirm_asks_before_each_tool_call(
    ip: Any, session: ChatSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ToolRegistry()
    ran: list[str] = []

    @registry.register
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return "sunny"

    session.registry = registry
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or "n")
    cell = run(ip, "%%chat --tools get_weather --confirm -o r\nWhat's the weather in Paris?")
    assert cell.error is None, cell.stderr
    assert asked == ["Run get_weather(city='Paris')? [y/N] "]
    assert ran == []  # declined: never executed, and the model was told so
    assert session.history[2]["role"] == "tool" and "declined" in session.history[2]["content"]
