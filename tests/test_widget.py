"""ChatWidget, Python side: every comm message it sends is recorded and checked.

The widget talks to the real tutor server on loopback. ipywidgets opens its comm through
`comm.create_comm`, the seam the `comm` package provides for kernels; here it returns a
comm that records what would go on the wire. The last tests run a real ipykernel through
`jupyter_client` to show the kernel stays usable while a reply streams.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from nbstream.endpoint import Endpoint
from nbstream.errors import NbstreamError
from nbstream.result import ChatResult
from nbstream.retry import RetryPolicy
from nbstream.session import ChatSession
from nbstream.widget import ChatWidget
from nbstream.widget._feed import ReplyFeed

PACE = "x-nbstream-pace"


class RecordingComm(BaseComm):
    """A comm that keeps every message it would publish, with a timestamp and its size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any) -> None:  # fmt: skip
        content = {"comm_id": self.comm_id, "data": data or {}}
        size = len(json.dumps(content, ensure_ascii=False).encode())
        self.sent.append(
            {"type": msg_type, "data": data or {}, "t": time.monotonic(), "size": size}
        )

    def customs(self, kind: str | None = None) -> list[dict[str, Any]]:
        messages = [m["data"]["content"] for m in self.sent if m["data"].get("method") == "custom"]
        return [m for m in messages if kind is None or m.get("kind") == kind]

    def updates(self) -> list[dict[str, Any]]:
        return [m["data"]["state"] for m in self.sent if m["data"].get("method") == "update"]

    def front(self, content: dict[str, Any]) -> None:
        """Deliver a custom message as the view would send it."""
        self.handle_msg({"content": {"comm_id": self.comm_id, "data": {"method": "custom", "content": content}}, "buffers": []})  # fmt: skip


@pytest.fixture(autouse=True)
def recording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", RecordingComm)


@pytest.fixture
def session(tutor_endpoint: Endpoint) -> ChatSession:
    return ChatSession(endpoint=tutor_endpoint, retry=RetryPolicy(initial_delay=0.01))


def wire(widget: ChatWidget) -> RecordingComm:
    assert isinstance(widget.comm, RecordingComm)
    return widget.comm


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: the city name
    """
    return f"Sunny in {city}, 21 °C"


def test_send_in_a_script_streams_then_commits(session: ChatSession) -> None:
    widget = ChatWidget(session)
    wire(widget).sent.clear()
    result = widget.send("/tokens 400")
    assert isinstance(result, ChatResult) and result.usage is not None
    assert result.usage.completion_tokens == 400
    [user, reply] = widget.messages
    assert user == {"id": "r1-q", "role": "user", "content": "/tokens 400"}
    assert reply["content"] == result.text and reply["footer"] == result.footer()
    updates = wire(widget).updates()
    assert updates[0] == {
        "pending": {"id": "r1", "user": user}, "status": {"state": "streaming", "model": "tutor"},
        "busy": True,
    }  # fmt: skip
    assert updates[-1]["busy"] is False and updates[-1]["pending"] == {}
    assert updates[-1]["transcript"] == [user, reply]
    assert updates[-1]["status"]["state"] == "done"
    deltas = wire(widget).customs("delta")
    assert deltas and all(d["id"] == "r1" for d in deltas)
    assert result.text.startswith("".join(d.get("text", "") for d in deltas))
    assert session.history[-1] == {"role": "assistant", "content": result.text}


def test_messages_are_a_copy_and_the_session_remembers(session: ChatSession) -> None:
    widget = ChatWidget(session)
    widget.send("/echo one")
    widget.send("/echo two")
    messages = widget.messages
    messages[0]["content"] = "changed"
    assert [m["content"] for m in widget.messages] == ["/echo one", "one", "/echo two", "two"]
    assert [m["role"] for m in session.history] == ["user", "assistant", "user", "assistant"]


def test_rate_stays_under_twenty_messages_a_second(session: ChatSession) -> None:
    widget = ChatWidget(session, extra_headers={PACE: "tps=1500"})
    wire(widget).sent.clear()
    widget.send("/tokens 3000")
    times = [m["t"] for m in wire(widget).sent]
    busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert len(times) > 10 and busiest <= 20


@pytest.mark.parametrize(("tokens", "tps"), [(3000, None), (600, 300), (60, 30)])
def test_bytes_stay_within_three_times_the_reply(
    session: ChatSession, tokens: int, tps: int | None
) -> None:
    headers = {PACE: f"tps={tps}"} if tps else {}
    widget = ChatWidget(session, extra_headers=headers)
    wire(widget).sent.clear()
    result = widget.send(f"/tokens {tokens}")
    reply = len(result.text.encode())
    total = sum(m["size"] for m in wire(widget).sent)
    assert total <= 3 * reply + 20_000, (total, reply)


def test_tool_cards_stream_arguments_then_show_the_result(session: ChatSession) -> None:
    widget = ChatWidget(session, tools=[get_weather], max_rate=1000)
    wire(widget).sent.clear()
    result = widget.send("What's the weather in Paris?")
    [card] = widget.messages[1]["tools"]
    assert card["name"] == "get_weather" and json.loads(card["args"]) == {"city": "Paris"}
    assert card["ok"] is True and card["result"] == "Sunny in Paris, 21 °C"
    assert "Sunny in Paris" in result.text
    changes = [t for d in wire(widget).customs("delta") for t in d.get("tools", [])]
    assert changes[0]["name"] == "get_weather"
    assert "".join(c.get("args", "") for c in changes) == card["args"]
    assert changes[-1]["result"] == card["result"]


def test_system_prompt_tools_and_model_are_settable(session: ChatSession) -> None:
    widget = ChatWidget(session, system="Answer briefly.", models=["tutor", "gpt-4o"])
    assert session.system == "Answer briefly." and widget.system == "Answer briefly."
    widget.system = None
    widget.tools = ["get_weather_unknown"]
    with pytest.raises(Exception, match="get_weather_unknown"):
        widget.send("hi")
    assert widget.busy is False and widget.messages == []
    widget.tools = [get_weather]
    assert [t.name for t in widget.tools] == ["get_weather"]  # type: ignore[union-attr]
    widget.model = "gpt-4o"
    assert widget.send("/echo hi").model == "gpt-4o"
    assert widget.models == ["tutor", "gpt-4o"]


def test_models_default_to_the_endpoint_list(session: ChatSession) -> None:
    widget = ChatWidget(session)
    assert widget.model == "tutor" and "gpt-4o" in widget.models


def test_on_reply_callbacks_get_each_result(session: ChatSession) -> None:
    widget = ChatWidget(session)
    seen: list[ChatResult] = []
    widget.on_reply(seen.append)
    widget.send("/echo a")
    widget.send("/echo b")
    widget.on_reply(seen.append, remove=True)
    widget.send("/echo c")
    assert [r.text for r in seen] == ["a", "b"]


def test_an_error_is_shown_and_raised(tutor_endpoint: Endpoint) -> None:
    session = ChatSession(endpoint=tutor_endpoint, retry=RetryPolicy(max_attempts=1))
    widget = ChatWidget(session, model="tutor@status=500")
    with pytest.raises(NbstreamError):
        widget.send("hello")
    assert widget.busy is False and widget.status["state"] == "error"
    assert "500" in (widget.messages[1].get("error") or "")


def test_a_retry_replaces_the_shown_text(session: ChatSession) -> None:
    widget = ChatWidget(session, model="tutor@drop=8,times=1,id=widget-retry", max_rate=1000)
    wire(widget).sent.clear()
    result = widget.send("/tokens 200")
    assert result.attempts == 2 and widget.messages[1]["content"] == result.text
    [restart] = [d for d in wire(widget).customs("delta") if "replace" in d]
    assert restart["retry"].startswith("retry 2/3")
    assert result.text.startswith(restart["replace"]["text"])


def test_stop_keeps_the_partial_reply_marked(session: ChatSession) -> None:
    widget = ChatWidget(session, extra_headers={PACE: "tps=200"})

    async def scenario() -> ChatResult:
        task = asyncio.ensure_future(widget.asend("/tokens 2000"))
        while len(widget._feed.text if widget._feed else "") < 50:
            await asyncio.sleep(0.01)
        assert widget.stop() is True
        return await task

    result = asyncio.run(scenario())
    assert result.interrupted and 50 <= len(result.text) < 4000
    reply = widget.messages[1]
    assert reply["interrupted"] is True and reply["content"] == result.text
    assert widget.status["state"] == "stopped" and session.turns[-1].interrupted
    assert session.history[-1] == {"role": "assistant", "content": result.text}


def test_front_end_send_stop_new_and_hello(session: ChatSession) -> None:
    widget = ChatWidget(session, extra_headers={PACE: "tps=200"})
    recorder = wire(widget)

    async def scenario() -> None:
        recorder.front({"kind": "send", "text": "/tokens 2000"})
        task = widget.task
        assert task is not None and widget.busy
        recorder.front({"kind": "send", "text": "ignored while busy"})
        await asyncio.sleep(0.4)
        recorder.front({"kind": "hello"})
        [snapshot] = recorder.customs("snapshot")
        assert snapshot["id"] == "r1" and snapshot["text"] and snapshot["n"] > 0
        recorder.front({"kind": "stop"})
        await asyncio.wait_for(task, 5)
        assert widget.messages[1]["interrupted"] is True
        assert widget.messages[1]["content"].startswith(snapshot["text"])
        recorder.front({"kind": "send", "text": "/tokens 2000"})
        await asyncio.sleep(0.2)
        recorder.front({"kind": "new"})  # while streaming: stop, then forget
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert widget.messages == [] and session.history == [] and not widget.busy


def test_sending_while_busy_is_refused(session: ChatSession) -> None:
    widget = ChatWidget(session, extra_headers={PACE: "tps=500"})

    async def scenario() -> None:
        task = widget.send("/tokens 400")
        assert isinstance(task, asyncio.Task)
        with pytest.raises(RuntimeError, match="still streaming"):
            await widget.asend("again")
        await task

    asyncio.run(scenario())
    assert len(widget.messages) == 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_feed_coalesces_text_by_rate() -> None:
    from nbstream.events import ContentDelta

    sent: list[dict[str, Any]] = []
    clock = FakeClock()
    feed = ReplyFeed("r1", sent.append, interval=0.1, clock=clock)
    for i in range(100):
        clock.now = i * 0.01  # a token every 10 ms: ten per message
        feed.feed(ContentDelta(0, f"t{i} "))
    assert len(sent) == 10
    assert "".join(m["text"] for m in sent) + feed._text == feed.text
    assert sent[0]["ttft"] == 0.0 and "ttft" not in sent[1]


def test_feed_byte_rule_makes_slow_streams_send_bigger_pieces() -> None:
    from nbstream.events import ContentDelta

    sent: list[dict[str, Any]] = []
    clock = FakeClock()
    feed = ReplyFeed("r1", sent.append, interval=0.05, slack=2000, clock=clock)
    for i in range(2000):
        clock.now = i * 0.2  # one short token per 200 ms: each could be its own message
        feed.feed(ContentDelta(0, "ab"))
    assert feed.spent <= 1.9 * feed.received + 2000
    assert len(sent) < 2000 / 3


def kernel_code(base_url: str) -> str:
    return (
        "from nbstream.endpoint import Endpoint\n"
        "from nbstream.session import ChatSession\n"
        "from nbstream.widget import ChatWidget\n"
        f"s = ChatSession(endpoint=Endpoint({base_url!r}, 'k', embedded=True))\n"
        f"w = ChatWidget(s, extra_headers={{{PACE!r}: 'tps=100'}})\n"
    )


@pytest.fixture
def kernel() -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client: Any, code: str) -> str:
    """Execute `code`, return its text/plain result, and fail on an error."""
    results: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "execute_result":
            results.append(msg["content"]["data"].get("text/plain", ""))

    reply = client.execute_interactive(code, timeout=30, output_hook=keep)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(results)


def test_kernel_runs_cells_while_a_reply_streams(kernel: Any, tutor_server: Any) -> None:
    run(kernel, kernel_code(tutor_server.base_url))
    run(kernel, "task = w.send('/tokens 300'); type(task).__name__")  # 3 s at 100 tok/s
    started = time.monotonic()
    assert run(kernel, "w.busy, 6 * 7") == "(True, 42)"
    assert time.monotonic() - started < 2.0
    assert run(kernel, "r = await task; r.usage.completion_tokens, w.busy") == "(300, False)"
    assert run(kernel, "[m['role'] for m in w.messages]") == "['user', 'assistant']"


def test_kernel_stream_starts_from_a_front_end_message(kernel: Any, tutor_server: Any) -> None:
    run(kernel, kernel_code(tutor_server.base_url))
    comm_id = run(kernel, "w.comm.comm_id").strip("'")
    data = {"method": "custom", "content": {"kind": "send", "text": "/tokens 100"}}
    kernel.shell_channel.send(kernel.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))
    deadline = time.monotonic() + 20
    state = ""
    while time.monotonic() < deadline:
        state = run(kernel, "len(w.messages), w.busy")
        if state == "(2, False)":
            break
        time.sleep(0.2)
    assert state == "(2, False)"
