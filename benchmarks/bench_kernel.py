"""What one streamed reply costs a real kernel and its front end, for every way to show it.

A kernel started through `jupyter_client` runs one cell per row, consuming `/tokens N` from
the built-in tutor server (its own process, `nbstream serve`, so neither the server's CPU
nor its GIL is charged to the kernel or to this client). Cases: N = 500, 2,000, 8,000 and
32,000 chunks at full speed, and a paced run at 50 tokens/s for 20 s (N = 1,000).

Rows:

- `%%chat`: the magic, live Markdown display (`%%chat --no-history`);
- widget: `await w.asend(prompt)` on a `ChatWidget` made (not timed) in a previous cell;
- bare SDK loop: `for chunk in client.chat.completions.create(stream=True)`, accumulating
  the text, showing nothing;
- raw-SSE floor: httpx reading the response bytes, no parsing at all;
- print per chunk: the SDK loop with `print(delta, end="", flush=True)`;
- naive Markdown: the SDK loop with `handle.update(Markdown(all_text))` on every chunk.

Clients (SDK, httpx) are made once in a set-up cell, so no row pays for a client or a new
connection. Columns, per row (wall, first text and CPU are medians of the repeats; counts
and bytes are from the last run):

- wall_s: execute_request sent to the kernel's idle status received;
- first_s: to the first IOPub message that shows reply text (`-`: the row shows none);
- cpu_s: kernel process CPU (user + system, all threads, psutil), and x_bare_cpu;
- iopub: every IOPub message of the cell (status busy and execute_input included, the
  final idle not); output: those a front end renders (display, update, stream, comm);
  peak/s: output messages in the busiest second (kernel timestamps);
- out_B/B: bytes of the output messages' `content` per reply byte (the quantity the
  3 x reply + 20 KB bound is about); wire_B/B: whole messages of all IOPub traffic of the
  cell (topic, signature, header, parent header, metadata, content) per reply byte.

Usage: python benchmarks/bench_kernel.py [--quick] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _kernel import Kernel, execute, kernel_env, started_kernel, table_text
from bench_server import server_url

from nbstream.server.longdoc import token_document

SETUP = """\
import httpx, openai
from IPython.display import Markdown, display
from nbstream.endpoint import Endpoint
from nbstream.session import ChatSession
from nbstream.widget import ChatWidget
_url = {url!r}
_sdk = openai.OpenAI(base_url=_url, api_key="bench", max_retries=0)
_http = httpx.Client(timeout=None, headers={{"Authorization": "Bearer bench"}})
_w = None
def _messages(prompt):
    return [{{"role": "user", "content": prompt}}]"""

# A fresh widget per run: one widget's transcript would grow across the repeats.
WIDGET_SETUP = """\
if _w is not None:
    _w.close()
_w = ChatWidget(ChatSession(endpoint=Endpoint(_url, "bench", embedded=True)),
                model={model!r}, models=[])"""

CELLS = {
    "%%chat": "%%chat --no-history --model {model}\n{prompt}",
    "widget": "_r = await _w.asend({prompt!r})",
    "bare SDK loop": """\
_parts = []
with _sdk.chat.completions.create(model={model!r}, stream=True,
        messages=_messages({prompt!r})) as _stream:
    for _chunk in _stream:
        if _chunk.choices and _chunk.choices[0].delta.content:
            _parts.append(_chunk.choices[0].delta.content)
_text = "".join(_parts)""",
    "raw-SSE floor": """\
_n = 0
with _http.stream("POST", _url + "/chat/completions", json={{"model": {model!r},
        "stream": True, "messages": _messages({prompt!r})}}) as _resp:
    for _bytes in _resp.iter_raw():
        _n += len(_bytes)""",
    "print per chunk": """\
with _sdk.chat.completions.create(model={model!r}, stream=True,
        messages=_messages({prompt!r})) as _stream:
    for _chunk in _stream:
        if _chunk.choices and _chunk.choices[0].delta.content:
            print(_chunk.choices[0].delta.content, end="", flush=True)""",
    "naive Markdown": """\
_handle = display(Markdown(""), display_id=True)
_text = ""
with _sdk.chat.completions.create(model={model!r}, stream=True,
        messages=_messages({prompt!r})) as _stream:
    for _chunk in _stream:
        if _chunk.choices and _chunk.choices[0].delta.content:
            _text += _chunk.choices[0].delta.content
            _handle.update(Markdown(_text))""",
}
NAIVE = ("print per chunk", "naive Markdown")
COLUMNS = ["row", "wall_s", "x_bare", "first_s", "cpu_s", "x_bare_cpu", "iopub", "output",
           "peak/s", "out_B/B", "wire_B/B"]  # fmt: skip


def cases(quick: bool, repeat: int) -> list[dict[str, Any]]:
    """The matrix: (label, tokens, tps, repeats, rows skipped and why)."""
    if quick:
        return [
            _case(500, None, repeat),
            _case(2_000, None, repeat),
            _case(200, 50, 1),
        ]
    return [
        _case(500, None, repeat),
        _case(2_000, None, repeat),
        _case(8_000, None, repeat, once=NAIVE),
        _case(32_000, None, 1, skip={"naive Markdown": _too_slow(32_000)}),
        _case(1_000, 50, 1),
    ]


def _too_slow(tokens: int) -> str:
    """Why the naive Markdown row is skipped: each update carries the whole text so far."""
    size = len("".join(token_document(tokens)).encode())
    total = tokens * size / 2
    return f"skipped: its updates would carry ~{total / 1e9:.1f} GB (N x reply / 2), minutes a run"


def _case(
    tokens: int,
    tps: float | None,
    repeat: int,
    once: tuple[str, ...] = (),
    skip: dict[str, str] | None = None,
) -> dict[str, Any]:
    pace = f"{tps:g} tok/s for {tokens / tps:g} s" if tps else "full speed"
    return {
        "label": f"N={tokens:,} {pace}",
        "tokens": tokens,
        "tps": tps,
        "repeat": repeat,
        "once": once,
        "skip": skip or {},
    }


def run_case(kernel: Kernel, case: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """All rows of one case, interleaved per repeat so drift hits every row alike."""
    kc = kernel.client
    model = f"tutor@tps={case['tps']:g}" if case["tps"] else "tutor"
    prompt = f"/tokens {case['tokens']}"
    size = len("".join(token_document(case["tokens"])).encode())
    rows = [r for r in CELLS if r not in case["skip"]]
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in rows}
    for i in range(case["repeat"]):
        for row in rows:
            if i and row in case["once"]:
                continue
            if row == "widget":
                execute(kc, WIDGET_SETUP.format(model=model))
            code = CELLS[row].format(model=model, prompt=prompt)
            runs[row].append(execute(kc, code, kernel=kernel))
            last = runs[row][-1]
            log(f"  {case['label']:<28} {row:<16} run {i + 1}: {last['wall']:.3f} s")
    base = runs["bare SDK loop"]
    base_wall = statistics.median(r["wall"] for r in base)
    base_cpu = _median([r["cpu"] for r in base])
    out = []
    for row, results in runs.items():
        last = results[-1]
        wall = statistics.median(r["wall"] for r in results)
        cpu = _median([r["cpu"] for r in results])
        first = _median([r["first_text"] for r in results])
        out.append(
            {
                "row": row,
                "runs": len(results),
                "wall_s": wall,
                "x_bare": wall / base_wall,
                "first_s": first,
                "cpu_s": cpu,
                "x_bare_cpu": cpu / base_cpu if cpu is not None and base_cpu else None,
                "iopub": last["iopub"],
                "output": last["output"],
                "display": last["display"],
                "stream": last["stream"],
                "comm": last["comm"],
                "peak/s": last["busiest_output"],
                "out_B/B": last["output_content"] / size,
                "wire_B/B": last["iopub_wire"] / size,
                "output_content_bytes": last["output_content"],
                "output_wire_bytes": last["output_wire"],
                "iopub_wire_bytes": last["iopub_wire"],
                "display_content_bytes": last["content"],
            }
        )
    return {
        "case": case["label"],
        "tokens": case["tokens"],
        "tps": case["tps"],
        "repeat": case["repeat"],
        "reply_bytes": size,
        "bound_B_per_B": (3 * size + 20_000) / size,
        "rows": out,
        "skipped": case["skip"],
        "single_run": [r for r in case["once"] if r in runs] if case["repeat"] > 1 else [],
    }


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(result: dict[str, Any]) -> str:
    """One case as a table, with the reply size, the bound and what was skipped."""
    lines = [
        f"{result['case']}: reply {result['reply_bytes']:,} bytes, "
        f"median of {result['repeat']} run(s); bound 3 x reply + 20 KB = "
        f"{result['bound_B_per_B']:.2f} B/B (on out_B/B)",
        table_text(result["rows"], COLUMNS),
    ]
    if result["single_run"]:
        lines.append(f"  one run only: {', '.join(result['single_run'])}")
    lines += [f"  {row}: {why}" for row, why in result["skipped"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 500 and 2,000, a 4 s pace")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (full speed)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    began = time.perf_counter()
    results = []
    with server_url(0, False, None) as url, started_kernel(kernel_env(url)) as kernel:
        execute(kernel.client, "%load_ext nbstream")
        execute(kernel.client, SETUP.format(url=url))
        for row in CELLS:  # warm up imports, connections and the widget machinery
            if row == "widget":
                execute(kernel.client, WIDGET_SETUP.format(model="tutor"))
            execute(kernel.client, CELLS[row].format(model="tutor", prompt="/tokens 50"))
        for case in cases(args.quick, args.repeat):
            results.append(run_case(kernel, case, log))
            print(report(results[-1]) + "\n", flush=True)
    elapsed = time.perf_counter() - began
    print(f"kernel benchmark: {elapsed:.0f} s in all; server, this client and the kernel are "
          "separate processes; CPU is the kernel's only")  # fmt: skip
    if args.json:
        Path(args.json).write_text(
            json.dumps({"cases": results, "columns": COLUMNS, "seconds": elapsed}, indent=2)
        )


if __name__ == "__main__":
    main()
