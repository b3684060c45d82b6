"""The live renderer: what a saved notebook keeps equals what nbval sees, at bounded traffic.

`NotebookSink` models an output area the way nbclient saves it (updates applied in place)
and keeps each output's first state, which is what nbval compares. The pace is simulated
with a hand-moved clock, so 20 tokens/s over a 1 MB reply runs in a second.
"""

from __future__ import annotations

import _thread
import itertools
import json
import threading
import time
from typing import Any

import httpx
import pytest

from nbstream.display import LiveReply, footer_data, run_live
from nbstream.endpoint import Endpoint
from nbstream.events import (
    ChoiceFinished,
    ContentDelta,
    StreamRestarted,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
)
from nbstream.server import TutorServer
from nbstream.server.longdoc import token_document
from nbstream.session import ChatSession, RoundStarted, ToolResult
from nbstream.tool_runner import ToolOutcome

TOKENS_32K = list(token_document(8000))
TOKENS_1M = list(token_document(330_000))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class NotebookSink:
    """An output area: final states (what gets saved) and first states (what nbval sees)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.outputs: list[dict[str, Any]] = []
        self.by_id: dict[str, list[int]] = {}
        self.sent: list[tuple[float, int, dict[str, Any]]] = []  # (time, bytes, data)

    def publish(
        self, data: dict[str, str], display_id: str | None = None, update: bool = False
    ) -> None:
        content = {
            "data": data,
            "metadata": {},
            "transient": {"display_id": display_id} if display_id else {},
        }
        self.sent.append(
            (self.clock(), len(json.dumps(content, ensure_ascii=False).encode()), data)
        )
        if update:
            for index in self.by_id[display_id]:  # type: ignore[index]
                self.outputs[index]["data"] = data
            return
        if display_id:
            self.by_id.setdefault(display_id, []).append(len(self.outputs))
        self.outputs.append({"output_type": "display_data", "data": data, "first": data})

    def write(self, text: str) -> None:
        self.outputs.append({"output_type": "stream", "text": text})

    def saved(self) -> list[Any]:
        return [o["data"] if "data" in o else o["text"] for o in self.outputs]

    def first_states(self) -> list[Any]:
        return [o["first"] if "first" in o else o["text"] for o in self.outputs]

    def visible(self) -> list[Any]:
        """Outputs nbval compares: data-less displays carry nothing to compare."""
        return [o for o in self.saved() if o != {}]

    def segments(self) -> str:
        return "".join(o["text/markdown"] for o in self.visible() if isinstance(o, dict))

    def bytes(self) -> int:
        return sum(size for _, size, _ in self.sent)

    def busiest_second(self, until: float) -> int:
        times = [t for t, _, _ in self.sent if t < until]
        return max((len([u for u in times if t <= u < t + 1.0]) for t in times), default=0)


def stream(tokens: list[str], tps: float, **options: Any) -> tuple[NotebookSink, LiveReply, float]:
    """Feed `tokens` at `tps` tokens/s; return the sink, the view and the last chunk's time."""
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock, **options)
    view.start()
    for token in tokens:
        clock.now += 1 / tps
        view.handle(ContentDelta(0, token))
    view.handle(ChoiceFinished(0, "stop"))
    last = clock.now
    view.finish(None)
    return sink, view, last


PACES = [20, 200, 2_000, 20_000]


@pytest.mark.parametrize("tps", PACES)
def test_saved_outputs_are_the_first_states_and_hold_the_whole_reply(tps: float) -> None:
    sink, _, _ = stream(TOKENS_32K, tps)
    assert sink.saved() == sink.first_states()  # what is saved is what nbval sees
    assert sink.segments() == "".join(TOKENS_32K)
    assert {} in sink.saved()  # live pieces were used, and are empty now


def test_the_visible_outputs_do_not_depend_on_the_pace() -> None:
    runs = [stream(TOKENS_32K, tps)[0].visible() for tps in PACES]
    assert all(run == runs[0] for run in runs)
    assert 3 <= len(runs[0]) <= 10  # cut into a modest number of segments


@pytest.mark.parametrize(
    ("tokens", "tps"),
    [(TOKENS_32K, tps) for tps in PACES] + [(TOKENS_1M, 20), (TOKENS_1M, 20_000)],
    ids=[f"32K-{tps}" for tps in PACES] + ["1M-20", "1M-20000"],
)
def test_traffic_is_linear_and_at_most_20_messages_a_second(tokens: list[str], tps: float) -> None:
    sink, view, last = stream(tokens, tps)
    size = len("".join(tokens).encode())
    assert sink.bytes() == view.bytes
    assert sink.bytes() <= 3 * size + 20_000, (sink.bytes() / size, size)
    assert sink.busiest_second(until=last) <= 20  # while streaming
    final = [s for s in sink.sent if s[0] >= last]
    assert len(final) <= view.max_pieces + 3  # the final render: empty pieces, seal, rest


@pytest.mark.parametrize("tokens_tps", [(1500, 50), (8000, 200)])
def test_a_slow_reply_is_redrawn_regularly(tokens_tps: tuple[int, float]) -> None:
    tokens, tps = tokens_tps
    sink, _, last = stream(TOKENS_32K[:tokens], tps)
    redraws = [t for t, _, data in sink.sent if data and t < last]
    gaps = [b - a for a, b in itertools.pairwise(redraws)]
    assert max(gaps) < 1.5
    assert len(redraws) > 1.5 * (last - 1000)  # at least one and a half a second


def test_at_20_tokens_a_second_most_redraws_come_within_a_second() -> None:
    # 64 bytes/s of text earn ~115 bytes/s of redraws: about one small display message a
    # second once the 16 KB slack is spent, so long slow replies are redrawn less often.
    sink, _, last = stream(TOKENS_32K, 20)
    redraws = [t for t, _, data in sink.sent if data and t < last]
    gaps = sorted(b - a for a, b in itertools.pairwise(redraws))
    assert gaps[len(gaps) // 2] < 1.0


def test_first_content_is_sent_with_its_chunk_and_the_last_at_once() -> None:
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock)
    view.start()
    clock.now += 0.3
    view.handle(ContentDelta(0, "Hello"))
    assert sink.sent[-1] == (clock.now, sink.sent[-1][1], {"text/markdown": "Hello"})
    clock.now += 0.001
    view.handle(ContentDelta(0, " world"))  # throttled: not sent yet
    assert sink.sent[-1][2] == {"text/markdown": "Hello"}
    view.handle(ChoiceFinished(0, "stop"))  # the end is rendered without waiting
    assert sink.visible() == [{"text/markdown": "Hello world"}]


def test_a_fence_cut_by_a_live_piece_still_shows_as_code() -> None:
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock, piece_size=10)
    view.start()
    for line in ["Intro.\n\n", "```python\n", "a = 1\n", "b = 2\n", "c = 3\n"]:
        clock.now += 1
        view.handle(ContentDelta(0, line))
    shown = [o["text/markdown"] for o in sink.saved() if o]
    assert all(s.count("```") % 2 == 0 for s in shown)  # every piece opens and closes
    assert any(s.startswith("```python\n") and "a = 1" not in s for s in shown)


def test_a_retry_empties_the_live_text_and_says_why() -> None:
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock)
    view.start()
    view.handle(ContentDelta(0, "Partial repl"))
    view.handle(StreamRestarted(2, 3, "connection lost after 37 chunks", 1.2, 37))
    clock.now += 2
    view.handle(ContentDelta(0, "Full reply."))
    view.handle(ChoiceFinished(0, "stop"))
    view.finish(None)
    assert sink.visible() == [
        "↻ connection lost after 37 chunks; retrying in 1.2 s (attempt 2 of 3)\n",
        {"text/markdown": "Full reply."},
    ]
    assert sink.saved() == sink.first_states()


def test_tool_calls_and_results_are_sealed_one_line_blocks() -> None:
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock)
    view.start()
    events = [
        RoundStarted(1),
        ContentDelta(0, "Let me check."),
        ToolCallStarted(0, 0, "call_1", "get_weather"),
        ToolCallArgumentsDelta(0, 0, '{"city":', '{"city":'),
        ToolCallArgumentsDelta(0, 0, ' "Paris"}', '{"city": "Paris"}'),
        ToolCallDone(0, 0, "call_1", "get_weather", '{"city": "Paris"}'),
        ChoiceFinished(0, "tool_calls"),
        ToolResult(ToolOutcome("call_1", "get_weather", True, "18 °C, sunny")),
        RoundStarted(2),
        ContentDelta(0, "It is 18 °C."),
        ChoiceFinished(0, "stop"),
    ]
    for event in events:
        clock.now += 0.2
        view.handle(event)
    view.finish(None)
    assert sink.visible() == [
        {"text/markdown": "Let me check."},
        {"text/markdown": '🔧 **get_weather** ` {"city": "Paris"} `'},
        {"text/markdown": "↳ **get_weather** → ` 18 °C, sunny `"},
        {"text/markdown": "It is 18 °C."},
    ]
    assert any("get_weather" in str(o) and "…" in str(o) for _, _, o in sink.sent)  # live args
    assert sink.saved() == sink.first_states()


def test_json_mode_shows_the_reply_as_a_json_code_block() -> None:
    sink, _, _ = stream(['{"a"', ": 1}"], 10, json_mode=True)
    assert sink.visible() == [{"text/markdown": '```json\n{"a": 1}\n```'}]


@pytest.mark.parametrize("side", [False, True])
def test_several_choices_one_after_another_or_side_by_side(side: bool) -> None:
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock, choices=2, side=side)
    view.start()
    for text in ["One", "Two"]:
        for choice in (0, 1):
            clock.now += 0.1
            view.handle(ContentDelta(choice, f"{text}{choice} "))
    view.finish(None)
    (final,) = sink.visible()
    markdown = final["text/markdown"]
    assert "One0 Two0" in markdown and "One1 Two1" in markdown
    assert ("<table>" in markdown) is side
    assert sink.saved() == sink.first_states()


def test_region_mode_keeps_one_display_and_sends_segments_at_the_end() -> None:
    clock = Clock()
    sink = NotebookSink(clock)
    view = LiveReply(sink, clock=clock, region=True, seal_size=2000)
    view.start()
    for token in TOKENS_32K[:3000]:
        clock.now += 0.001
        view.handle(ContentDelta(0, token))
    assert len([o for o in sink.outputs if o["first"] == {}]) == 1  # one live display so far
    view.handle(ChoiceFinished(0, "stop"))
    view.finish(None)
    assert sink.segments() == "".join(TOKENS_32K[:3000])
    assert len(sink.visible()) > 2
    assert sink.visible() == stream(TOKENS_32K[:3000], 50, seal_size=2000)[0].visible()


# -- against the real tutor server ---------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Any:
    with TutorServer() as srv:
        yield srv


def session_for(srv: TutorServer) -> ChatSession:
    return ChatSession(endpoint=Endpoint(srv.base_url, "x", "test", embedded=True))


def test_a_real_reply_has_a_footer_and_first_text_within_10_ms(server: TutorServer) -> None:
    sink = NotebookSink()
    turn = session_for(server).turn("/tokens 600", model="tutor@tps=2000,ttft=100")
    arrivals: list[float] = []

    def timed() -> Any:
        for event in turn:
            if isinstance(event, ContentDelta) and not arrivals:
                arrivals.append(time.monotonic())
            yield event

    class Timed:
        def __iter__(self) -> Any:
            return timed()

        def partial(self, error: Any = None) -> Any:
            return turn.partial(error)

        result = property(lambda self: turn.result)

    result = run_live(Timed(), LiveReply(sink))  # type: ignore[arg-type]
    assert result is not None
    shown = next(t for t, _, data in sink.sent if data.get("text/markdown"))
    assert shown - arrivals[0] < 0.010
    assert sink.visible()[-1] == footer_data(result)
    assert "600 tokens" in result.footer() and "TTFT" in result.footer()
    assert sink.segments().removesuffix(sink.visible()[-1]["text/markdown"]) == result.text


def test_ctrl_c_keeps_the_partial_reply_and_closes_the_connection(server: TutorServer) -> None:
    sink = NotebookSink()
    session = session_for(server)
    turn = session.turn("/tokens 2000", model="tutor@tps=200")
    timer = threading.Timer(0.6, _thread.interrupt_main)
    timer.start()
    began = time.monotonic()
    result = run_live(turn, LiveReply(sink))
    stopped = time.monotonic()
    assert result is not None and result.interrupted
    assert stopped - began < 0.6 + 0.5
    assert 20 < len(result.text) < 2000 * 4
    assert sink.outputs[-1]["text"] == "⏹ Interrupted — the partial reply is kept in history.\n"
    assert sink.segments().startswith(result.text)  # kept on screen, then the footer
    assert session.history[-1] == {"role": "assistant", "content": result.text}
    assert session.turns[-1].interrupted
    deadline = time.monotonic() + 2
    while httpx.get(server.url + "/healthz").json()["open_streams"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert httpx.get(server.url + "/healthz").json()["open_streams"] == 0
