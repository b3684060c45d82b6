"""Shared helpers for benchmarks that run cells in a real kernel through `jupyter_client`.

One place decides what a cell "costs" so `bench_magic.py` and `bench_kernel.py` count alike:
every IOPub message parented to the cell's execute request (plus, when asked, the comm
messages of given widgets, whatever their parent), their content bytes as the kernel
serializes them, and their wire bytes as the kernel session's own packer frames them.

The client's IOPub socket has no receive high-water mark: the kernel's PUB socket drops
messages when a slow subscriber's queue is full, which would make a heavy row look cheap.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
DISPLAY = ("display_data", "update_display_data")
COMM = ("comm_open", "comm_msg", "comm_close")
# What a front end renders or acts on; status, execute_input and the like are bookkeeping.
OUTPUT = ("stream", "execute_result", "error", "clear_output", *DISPLAY, *COMM)

try:  # ipython depends on psutil, but the benchmarks should not fail without it
    import psutil
except ImportError:  # pragma: no cover
    psutil = None


def kernel_env(base_url: str, model: str = "tutor") -> dict[str, str]:
    """The kernel's environment: this checkout importable, the tutor server as the endpoint,
    and no inherited `OPENAI_*`/`NBSTREAM_*` (no real key reaches a benchmark)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NBSTREAM_"))}
    env.update(PYTHONPATH=str(ROOT), OPENAI_BASE_URL=base_url,
               OPENAI_API_KEY="bench", NBSTREAM_MODEL=model)  # fmt: skip
    return env


@dataclass
class Kernel:
    """A started kernel, its blocking client, and its pid (for CPU time)."""

    manager: KernelManager
    client: BlockingKernelClient
    pid: int | None

    def cpu(self) -> float | None:
        """User + system CPU seconds of the kernel process so far (all its threads)."""
        if psutil is None or self.pid is None:
            return None
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


@contextmanager
def started_kernel(env: dict[str, str], kernel_name: str = "python3") -> Iterator[Kernel]:
    """Start a kernel with `env`; always shut it down. The client's sockets get an unbounded
    receive queue (see the module docstring)."""
    context = zmq.Context()
    context.setsockopt(zmq.RCVHWM, 0)
    manager = KernelManager(kernel_name=kernel_name, context=context)
    manager.start_kernel(env=env)
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        process = getattr(manager.provisioner, "process", None)
        yield Kernel(manager, client, getattr(process, "pid", None))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        context.destroy(linger=0)


def content_size(msg: dict[str, Any]) -> int:
    """Bytes of the message's `content` frame (the kernel packs JSON with ensure_ascii off)."""
    return len(json.dumps(msg["content"], ensure_ascii=False, default=str).encode())


def wire_size(kc: Any, msg: dict[str, Any]) -> int:
    """Bytes of the whole message as the session packs it: topic, delimiter, signature,
    header, parent header, metadata and content frames."""
    frames = kc.session.serialize(
        {k: msg[k] for k in ("header", "parent_header", "metadata", "content")}
    )
    return sum(len(f) for f in frames) + len(b"kernel.x.display_data")  # + the topic frame


def shows_text(msg: dict[str, Any]) -> bool:
    """Whether an output message puts reply text on screen (a data-less `{}` display, a
    widget's status change or an empty stream write does not)."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return bool(content.get("text"))
    if kind in (*DISPLAY, "execute_result"):
        return any(isinstance(v, str) and v.strip() for v in content.get("data", {}).values())
    if kind == "comm_msg":
        data = content.get("data", {})
        custom = data.get("content") if data.get("method") == "custom" else None
        if isinstance(custom, dict) and (custom.get("text") or custom.get("replace")):
            return True
        return bool(data.get("method") == "update" and data.get("state", {}).get("transcript"))
    return False


def busiest_second(stamps: Iterable[float]) -> int:
    """Most of `stamps` (seconds) within any one-second window."""
    times = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def execute(
    kc: Any,
    code: str,
    *,
    kernel: Kernel | None = None,
    comm_ids: Iterable[str] = (),
    timeout: float = 900,
) -> dict[str, Any]:
    """Run a cell; return its wall time, time to first text, kernel CPU, and what its IOPub
    messages cost. Raises if the cell fails.

    Keys: `wall` (execute_request sent to the idle status received, seconds), `first_text`
    (to the first message showing reply text, or None), `cpu` (kernel CPU seconds), `iopub`
    (all messages, incl. status busy and execute_input, not the final idle), `output`,
    `display`, `stream`, `comm` (counts by kind), `busiest` (display messages in the
    busiest second, kernel timestamps), `busiest_output` (the same for output messages),
    `content`/`wire` (bytes of display messages), `output_content`/`output_wire` (of
    output messages), `iopub_wire` (of all messages).
    """
    comms = set(comm_ids)
    cpu0 = kernel.cpu() if kernel else None
    began = time.perf_counter()
    msg_id = kc.execute(code)
    msgs: list[dict[str, Any]] = []
    first_text: float | None = None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        ours = msg["parent_header"].get("msg_id") == msg_id
        if not ours and not (msg["msg_type"] in COMM and msg["content"].get("comm_id") in comms):
            continue
        if ours and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        if first_text is None and shows_text(msg):
            first_text = time.perf_counter() - began
        msgs.append(msg)
    wall = time.perf_counter() - began
    cpu1 = kernel.cpu() if kernel else None
    reply = kc.get_shell_msg(timeout=60)["content"]
    if reply["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply.get('ename')}: {reply.get('evalue')}")
    wires = [wire_size(kc, m) for m in msgs]
    shown = [i for i, m in enumerate(msgs) if m["msg_type"] in DISPLAY]
    outputs = [i for i, m in enumerate(msgs) if m["msg_type"] in OUTPUT]
    return {
        "wall": wall,
        "first_text": first_text,
        "cpu": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
        "iopub": len(msgs),
        "output": len(outputs),
        "display": len(shown),
        "stream": sum(m["msg_type"] == "stream" for m in msgs),
        "comm": sum(m["msg_type"] in COMM for m in msgs),
        "busiest": busiest_second(_stamp(msgs[i]) for i in shown),
        "busiest_output": busiest_second(_stamp(msgs[i]) for i in outputs),
        "content": sum(content_size(msgs[i]) for i in shown),
        "wire": sum(wires[i] for i in shown),
        "output_content": sum(content_size(msgs[i]) for i in outputs),
        "output_wire": sum(wires[i] for i in outputs),
        "iopub_wire": sum(wires),
    }


def _stamp(msg: dict[str, Any]) -> float:
    date = msg["header"]["date"]
    return float(date.timestamp()) if hasattr(date, "timestamp") else 0.0


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print `columns` of `rows`, right-aligned, floats with 2 (or 3 for seconds) decimals."""
    print(table_text(rows, columns))


def table_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any, column: str) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}" if column.endswith("_s") else f"{value:.2f}"
        return str(value)

    cells = [[cell(r.get(c), c) for c in columns] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)
