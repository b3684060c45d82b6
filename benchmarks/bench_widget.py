"""Comm traffic of one streamed reply: ChatWidget against an HTML widget updated per chunk.

A real ipykernel (started through `jupyter_client`) streams replies from the built-in tutor
server on loopback; the benchmark reads every `comm_msg` the kernel publishes on IOPub for
the widget under test, exactly what a front end would receive. For each reply it reports

* payload: bytes of the comm messages' content (comm id + data), as a multiple of the
  reply's own UTF-8 size; the target is <= 3 x reply + 20 KB;
* whole: the same with each message's Jupyter header, parent header and metadata;
* messages, and the most messages in any one-second window (target: about 20 at most).

The naive row sets `HTML.value` to the whole escaped reply on every chunk, as a first
attempt at a streaming widget often does; its traffic grows with the square of the length.

Usage: python benchmarks/bench_widget.py [--quick] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from jupyter_client.manager import start_new_kernel

from nbstream.testing import running_server

SETUP = """
import html
from ipywidgets import HTML
from nbstream.endpoint import Endpoint
from nbstream.events import ContentDelta
from nbstream.session import ChatSession
from nbstream.widget import ChatWidget

def session():
    return ChatSession(endpoint=Endpoint({base_url!r}, "bench", embedded=True))

async def naive(widget, prompt, headers):
    text = ""
    turn = session().aturn(prompt, extra_headers=headers)
    async for event in turn:
        if isinstance(event, ContentDelta):
            text += event.text
            widget.value = "<pre>" + html.escape(text) + "</pre>"
    return turn.result
"""
MAKE = {
    "ChatWidget": "w = ChatWidget(session(), extra_headers={headers!r})\nw.comm.comm_id",
    "HTML per chunk": "w = HTML()\nw.comm.comm_id",
}
RUN = {
    "ChatWidget": "r = await w.asend({prompt!r})\nlen(r.text.encode())",
    "HTML per chunk": "r = await naive(w, {prompt!r}, {headers!r})\nlen(r.text.encode())",
}
CASES = [  # (tokens, tokens per second or None for as fast as possible)
    (8000, None),
    (1000, 100),
    (200, 20),
]
QUICK = [(2000, None), (300, 100)]


@dataclass
class Row:
    widget: str
    tokens: int
    tps: float | None
    reply_bytes: int
    payload_bytes: int
    whole_bytes: int
    messages: int
    seconds: float
    peak_per_second: int

    @property
    def payload_ratio(self) -> float:
        return self.payload_bytes / self.reply_bytes

    @property
    def within_budget(self) -> bool:
        return self.payload_bytes <= 3 * self.reply_bytes + 20_000


def size(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False, default=str).encode())


def execute(client: Any, code: str, comm_id: str | None = None) -> tuple[str, list[dict]]:
    """Run `code`; its text/plain result and the comm messages published for `comm_id`."""
    msg_id = client.execute(code)
    result, comms = "", []
    while True:
        msg = client.get_iopub_msg(timeout=300)
        kind, parent = msg["msg_type"], msg["parent_header"].get("msg_id")
        if kind == "comm_msg" and msg["content"].get("comm_id") == comm_id:
            comms.append(msg)
        elif kind == "execute_result" and parent == msg_id:
            result = msg["content"]["data"]["text/plain"]
        elif kind == "error" and parent == msg_id:
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif kind == "status" and parent == msg_id and msg["content"]["execution_state"] == "idle":
            return result, comms


def measure(client: Any, widget: str, tokens: int, tps: float | None) -> Row:
    headers = {"x-nbstream-pace": f"tps={tps}"} if tps else {}
    comm_id, _ = execute(client, MAKE[widget].format(headers=headers))
    comm_id = comm_id.strip("'")
    prompt = f"/tokens {tokens}"
    reply, comms = execute(client, RUN[widget].format(prompt=prompt, headers=headers), comm_id)
    stamps = sorted(_time(m["header"]["date"]) for m in comms)
    peak = max((sum(1 for u in stamps if t <= u < t + 1.0) for t in stamps), default=0)
    parts = ("header", "parent_header", "metadata", "content")
    whole = sum(size({k: m[k] for k in parts}) for m in comms)
    return Row(
        widget=widget,
        tokens=tokens,
        tps=tps,
        reply_bytes=int(reply),
        payload_bytes=sum(size(m["content"]) for m in comms),
        whole_bytes=whole,
        messages=len(comms),
        seconds=(stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0,
        peak_per_second=peak,
    )


def _time(stamp: Any) -> float:
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp)
    return float(stamp.timestamp())


def report(rows: list[Row]) -> str:
    lines = [
        f"{'widget':<15} {'reply':>15} {'reply B':>8} {'payload B':>11} {'x reply':>8} "
        f"{'whole B':>11} {'msgs':>6} {'peak/s':>6} {'in budget':>9}",
    ]
    for r in rows:
        pace = f"{r.tokens} tok @ {r.tps or 'max'}"
        lines.append(
            f"{r.widget:<15} {pace:>15} {r.reply_bytes:>8} {r.payload_bytes:>11} "
            f"{r.payload_ratio:>8.2f} {r.whole_bytes:>11} {r.messages:>6} "
            f"{r.peak_per_second:>6} {'yes' if r.within_budget else 'no':>9}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two short cases only")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    rows: list[Row] = []
    with running_server() as server:
        manager, client = start_new_kernel(kernel_name="python3")
        try:
            execute(client, SETUP.format(base_url=server.base_url))
            for tokens, tps in QUICK if args.quick else CASES:
                for widget in MAKE:
                    rows.append(measure(client, widget, tokens, tps))
                    print(report(rows[-1:]).splitlines()[-1], flush=True)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    print(f"\n{date.today()} · Python {platform.python_version()} · {platform.machine()}")
    print(report(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump([asdict(r) | {"payload_ratio": r.payload_ratio} for r in rows], out, indent=2)


if __name__ == "__main__":
    main()
