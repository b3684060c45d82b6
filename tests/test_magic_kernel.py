"""`%%chat` in a real kernel (jupyter_client) against a real tutor server, over loopback.

What the frontend receives is measured on the iopub channel itself: message counts,
serialized content bytes, kernel-side timestamps, and the outputs a notebook would save.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from jupyter_client.manager import KernelManager, start_new_kernel

from nbstream.server import TutorServer
from nbstream.server.longdoc import token_document

ROOT = Path(__file__).parent.parent
DISPLAY = ("display_data", "update_display_data")
INTERRUPTED = "⏹ Interrupted — the partial reply is kept in history.\n"


@pytest.fixture(scope="module")
def server() -> Iterator[TutorServer]:
    with TutorServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def kernel(server: TutorServer) -> Iterator[tuple[KernelManager, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NBSTREAM_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY="sk-kernel-test-key",
        NBSTREAM_MODEL="tutor",
    )
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        assert execute(kc, "%load_ext nbstream").reply["status"] == "ok"
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@dataclass
class Run:
    msgs: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0

    def of(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.msgs if m["msg_type"] in types]

    def stream(self, name: str) -> str:
        return "".join(
            m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == name
        )

    def outputs(self) -> list[dict[str, Any]]:
        """Display outputs with their first and final state (updates applied by display_id)."""
        outputs: list[dict[str, Any]] = []
        for msg in self.of(*DISPLAY):
            content = msg["content"]
            display_id = content.get("transient", {}).get("display_id")
            if msg["msg_type"] == "update_display_data":
                for out in outputs:
                    if out["id"] == display_id:
                        out["final"] = content["data"]
            else:
                outputs.append(
                    {"id": display_id, "first": content["data"], "final": content["data"]}
                )
        return outputs

    def markdown(self) -> str:
        return "".join(
            o["final"]["text/markdown"]
            for o in self.outputs()
            if "text/plain" not in o["final"] and o["final"]
        )

    def content_bytes(self) -> int:
        return sum(
            len(json.dumps(m["content"], ensure_ascii=False).encode()) for m in self.of(*DISPLAY)
        )

    def busiest_second(self) -> int:
        times = [m["header"]["date"].timestamp() for m in self.of(*DISPLAY)]
        return max((sum(1 for u in times if t <= u < t + 1) for t in times), default=0)


def execute(kc: Any, code: str, timeout: float = 60, on_msg: Any = None) -> Run:
    run = Run(started=time.monotonic())
    msg_id = kc.execute(code)
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        msg["received"] = time.monotonic()
        run.msgs.append(msg)
        if on_msg is not None:
            on_msg(msg)
    run.reply = kc.get_shell_msg(timeout=timeout)["content"]
    return run


def test_the_saved_outputs_are_the_first_states(kernel: Any) -> None:
    _, kc = kernel
    run = execute(kc, "%%chat --no-history\n/tokens 3000")
    assert run.reply["status"] == "ok"
    outputs = run.outputs()
    assert all(o["final"] == o["first"] for o in outputs)  # what a notebook saves = nbval's view
    assert run.markdown() == "".join(token_document(3000))
    assert sum(1 for o in outputs if o["final"]) > 2  # sealed segments and a footer
    assert run.of("update_display_data")  # shown live on the way


@pytest.mark.parametrize(("tokens", "pace"), [(8000, ""), (1500, "@tps=500")])
def test_traffic_stays_within_the_bounds(kernel: Any, tokens: int, pace: str) -> None:
    _, kc = kernel
    run = execute(kc, f"%%chat --no-history -m tutor{pace}\n/tokens {tokens}")
    size = len("".join(token_document(tokens)).encode())
    assert run.content_bytes() <= 3 * size + 20_000, run.content_bytes() / size
    assert run.busiest_second() <= 20


def test_history_carries_across_cells(kernel: Any) -> None:
    _, kc = kernel
    execute(kc, "%chat reset")
    execute(kc, "%%chat\nHello!")
    execute(kc, "country = 'France'")
    execute(kc, "%chat What is the capital of {country}?")
    history = execute(kc, "%chat history").stream("stdout")
    assert history.startswith("user: Hello!\nassistant: Hello!")
    assert (
        "user: What is the capital of France?\nassistant: The capital of France is **Paris**."
        in history
    )


def test_an_error_is_one_line_and_no_traceback(kernel: Any) -> None:
    _, kc = kernel
    run = execute(kc, "%%chat -m nope\nHi")
    assert run.stream("stderr").count("\n") == 1
    assert run.stream("stderr").startswith("UsageError: model 'nope' was not found")
    assert not run.of("error")


def test_the_stop_button_ends_the_stream_within_half_a_second(
    kernel: Any, server: TutorServer
) -> None:
    km, kc = kernel
    execute(kc, "%chat reset")
    marks: dict[str, float] = {}

    def watch(msg: dict[str, Any]) -> None:
        data = msg["content"].get("data", {})
        if (
            "interrupt" not in marks
            and data.get("text/markdown")
            and msg["msg_type"] == "update_display_data"
        ):
            marks["interrupt"] = time.monotonic()
            km.interrupt_kernel()
        if msg["msg_type"] == "stream" and "Interrupted" in msg["content"]["text"]:
            marks.setdefault("line", msg["received"])

    run = execute(kc, "%%chat -m tutor@tps=50\n/tokens 2000", on_msg=watch)
    assert marks["line"] - marks["interrupt"] < 0.5
    assert run.reply["status"] == "ok" and not run.of("error")  # one line, no traceback
    assert run.stream("stdout").endswith(INTERRUPTED)
    outputs = run.outputs()
    assert all(o["final"] == o["first"] for o in outputs)
    partial = run.markdown()
    assert partial and "interrupted" in outputs[-1]["final"]["text/plain"]
    history = execute(kc, "%chat history").stream("stdout")
    assert f"assistant [interrupted]: {partial[:40]}" in history
    assert httpx.get(server.url + "/healthz").json()["open_streams"] == 0  # connection closed


def test_concurrent_async_streams_keep_their_own_outputs_in_call_order(kernel: Any) -> None:
    _, kc = kernel
    code = (
        "import asyncio\nfrom nbstream.display import live_achat\n"
        "long, short = await asyncio.gather(live_achat('/tokens 1500', history=False),"
        " live_achat('Hello!', history=False))"
    )
    run = execute(kc, code)
    assert run.reply["status"] == "ok", run.stream("stderr")
    outputs = run.outputs()
    assert all(o["final"] == o["first"] for o in outputs)
    assert [o["first"] for o in outputs[:2]] == [{}, {}]  # one live display each, in call order
    visible = [o["final"] for o in outputs if o["final"]]
    footers = [i for i, d in enumerate(visible) if "text/plain" in d]
    long_text = "".join(d["text/markdown"] for d in visible[: footers[0]])
    assert long_text == "".join(token_document(1500))  # the long one first, as called
    assert visible[footers[0] + 1]["text/markdown"].startswith("Hello!")
    live = {m["content"]["transient"]["display_id"] for m in run.of("update_display_data")
            if m["content"]["data"]}  # fmt: skip
    assert live == {outputs[0]["id"], outputs[1]["id"]}  # both were shown live
