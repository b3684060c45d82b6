"""Run every benchmark, keep the figures, and write them up (`make bench`).

Each benchmark runs in its own process, one after another (they would skew each other on a
small machine): engine (`bench_engine.py`), server (`bench_server.py`, 100 concurrent
paced streams), kernel (`bench_kernel.py`, the `%%chat`/widget/SDK/naive matrix) and widget
(`bench_widget.py`, comm traffic). The figures go to `benchmarks/results.json` with the date
and the machine, and to `docs/benchmarks.md` as tables; a short summary table for the README
is printed at the end. A failing benchmark is reported and the others still run.

Usage: python benchmarks/run_all.py [--quick] [--only kernel,widget] [--json PATH] [--md PATH]
       python benchmarks/run_all.py --render     # rewrite docs/benchmarks.md from results.json
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGES = ("nbstream", "openai", "httpx", "pydantic", "ipykernel", "jupyter_client", "pyzmq",
            "ipython", "ipywidgets", "anywidget", "uvicorn", "starlette",
            "jupyterlab", "playwright")  # fmt: skip
NAMES = ("engine", "server", "kernel", "widget", "browser")
PYTEST = ("-q", "-s", "-p", "no:cacheprovider", "-k", "latency")  # the browser's one figure
CHROMIUM = os.environ.get("NBSTREAM_CHROMIUM", "/usr/bin/chromium")


def commands(quick: bool, out: Path) -> dict[str, list[str]]:
    """Each benchmark's command line; all but the server write `out/<name>.json` (the server
    prints `key: value` lines, parsed by `parse_server`; the browser test writes its figures
    where NBSTREAM_BROWSER_RESULTS says)."""
    py = [sys.executable]
    server = ["--streams", "100", "--tps", "50", "--tokens", "100" if quick else "200"]
    return {
        "engine": [*py, str(HERE / "bench_engine.py"), "--json", str(out / "engine.json")],
        "server": [*py, str(HERE / "bench_server.py"), *server],
        "kernel": [*py, str(HERE / "bench_kernel.py"), "--json", str(out / "kernel.json")]
        + (["--quick"] if quick else []),
        "widget": [*py, str(HERE / "bench_widget.py"), "--json", str(out / "widget.json")]
        + (["--quick"] if quick else []),
        "browser": [*py, "-m", "pytest", *PYTEST, str(ROOT / "tests/browser/test_chat_browser.py")],
    }


def parse_server(stdout: str) -> dict[str, Any]:
    """bench_server's report (`     key: value` lines) as a dict."""
    report: dict[str, Any] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key.strip().replace("_", "").isalnum():
            continue
        try:
            report[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            report[key.strip()] = value.strip()
    return report


def machine() -> dict[str, Any]:
    """Where the figures come from: OS, CPU model and count, Python and package versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    chromium = None
    if Path(CHROMIUM).exists():
        try:
            version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True,
                                     timeout=30).stdout.strip()  # fmt: skip
            chromium = version or None
        except (OSError, subprocess.TimeoutExpired):
            pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "packages": versions,
        "chromium": chromium,
        "commit": commit or None,
    }


def run(name: str, command: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """Run one benchmark, echoing its output; its figures, or the error."""
    print(f"== {name}: {' '.join(Path(c).name if c.endswith('.py') else c for c in command)}")
    began = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["NBSTREAM_BROWSER_RESULTS"] = str(out / "browser.json")
    lines: list[str] = []
    # stdout is echoed as it comes and kept; stderr (progress, errors) goes straight through.
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        deadline = began + timeout
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
            if time.perf_counter() > deadline:
                proc.kill()
                return {"error": f"timed out after {timeout:.0f} s", "seconds": timeout}
        code = proc.wait()
    stdout = "".join(lines)
    seconds = time.perf_counter() - began
    result: dict[str, Any] = {"seconds": round(seconds, 1)}
    if name == "server":  # it exits 1 on stream errors: those are figures too
        result["figures"] = parse_server(stdout)
    elif (out / f"{name}.json").exists():  # the browser test writes before it asserts
        result["figures"] = json.loads((out / f"{name}.json").read_text())
    if code != 0 and name != "server":
        result["error"] = f"exit status {code} (its output is above)"
    return result


# -- writing up -------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines[1] = "|:---" + lines[1][5:]  # first column left-aligned
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


KERNEL_COLUMNS: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
    ("row", "row", lambda r: f"`{r['row']}`" if r["row"] == "%%chat" else r["row"]),
    ("wall s", "wall_s", lambda r: fmt(r["wall_s"], 3)),
    ("× bare", "x_bare", lambda r: fmt(r["x_bare"])),
    ("first text s", "first_s", lambda r: fmt(r["first_s"], 3)),
    ("kernel CPU s", "cpu_s", lambda r: fmt(r["cpu_s"])),
    ("CPU × bare", "x_bare_cpu", lambda r: fmt(r["x_bare_cpu"])),
    ("IOPub msgs", "iopub", lambda r: fmt(r["iopub"])),
    ("output msgs", "output", lambda r: fmt(r["output"])),
    ("peak/s", "peak/s", lambda r: fmt(r["peak/s"])),
    ("output B / reply B", "out_B/B", lambda r: fmt(r["out_B/B"])),
    ("wire B / reply B", "wire_B/B", lambda r: fmt(r["wire_B/B"])),
]

ROWS_EXPLAINED = """\
Rows (each one cell in the same kernel, consuming `/tokens N` from the tutor server, which
runs in its own process with no first-token delay):

- `%%chat`: `%%chat --no-history`, nbstream's live Markdown display;
- **widget**: `await w.asend(prompt)` on a `ChatWidget` made in an earlier, untimed cell
  (its output is comm messages to the view);
- **bare SDK loop**: `for chunk in client.chat.completions.create(stream=True)` appending
  each delta to a list, showing nothing: the issue's baseline (`× bare` divides by it);
- **raw-SSE floor**: `httpx` reading the response bytes without parsing them: what the
  network and the server alone cost;
- **print per chunk**: the SDK loop with `print(delta, end="", flush=True)`;
- **naive Markdown**: the SDK loop with `handle.update(Markdown(all_text))` on every chunk.

Columns: *wall* from sending `execute_request` to receiving the kernel's `idle` status;
*first text* to the first IOPub message that puts reply text on screen (– for rows that show
nothing); *kernel CPU* is the kernel process's user + system time (psutil, all threads,
10 ms resolution); *IOPub msgs* counts every message of the cell (status `busy` and
`execute_input` included); *output msgs* the ones a front end renders (display, update,
stream, comm); *peak/s* output messages in the busiest second (kernel timestamps);
*output B / reply B* is the bytes of those messages' `content` (the JSON the kernel
serializes) per byte of reply text: the quantity the `3 × reply + 20 KB` bound is about;
*wire B / reply B* counts all IOPub messages of the cell whole (topic, signature, header,
parent header, metadata, content), as the kernel session frames them. Wall, first text
and CPU are medians of the repeats; counts and bytes come from the last run.

Reading them: in the paced case every row takes the pace's 20 s, so compare kernel CPU,
messages and bytes there, not wall time. The bound is on content bytes; whole messages add
a header of several hundred bytes each, so at slow paces (many small messages) wire bytes per
reply byte are well above content bytes. The bare SDK loop is not a lower bound: nbstream
parses chunks without building pydantic objects, which is why `%%chat` can be faster.
"""


def kernel_section(figures: dict[str, Any]) -> str:
    parts = ["## Kernel: one cell, one reply, every way to show it", "", ROWS_EXPLAINED]
    for case in figures["cases"]:
        parts.append(
            f"### {case['case']}: reply {case['reply_bytes']:,} bytes, "
            f"{case['repeat']} run(s) per row"
        )
        parts.append("")
        rows = [[f(r) for _, _, f in KERNEL_COLUMNS] for r in case["rows"]]
        parts.append(md_table([h for h, _, _ in KERNEL_COLUMNS], rows))
        notes = [f"bound `3 × reply + 20 KB` = {case['bound_B_per_B']:.2f} B/B"]
        if case["single_run"]:
            notes.append(f"one run only: {', '.join(case['single_run'])}")
        notes += [f"{row} {why}" for row, why in case["skipped"].items()]
        parts += ["", "; ".join(notes) + ".", ""]
    return "\n".join(parts)


def engine_section(f: dict[str, Any]) -> str:
    acc = f["accumulate_seconds"]
    rows = []
    for who, label in (("nbstream", "nbstream `StreamAccumulator`"),
                       ("sdk_state", "SDK `ChatCompletionStreamState`")):  # fmt: skip
        small, large = acc["2000"][who], acc["20000"][who]
        rows.append([label, fmt(small * 1e3), fmt(large * 1e3), fmt(large / small, 1)])
    http = f["http_us_per_chunk_8000"]
    parse = f["parse_seconds_20000"]
    return "\n".join(
        [
            "## Engine: accumulating chunks",
            "",
            "Chunks already parsed, best of 5 (`bench_engine.py`); the cost should be linear "
            "(20k / 2k ≈ 10).",
            "",
            md_table(["accumulator", "2,000 chunks ms", "20,000 chunks ms", "ratio"], rows),
            "",
            f"At 20,000 chunks nbstream is "
            f"{acc['20000']['sdk_state'] / acc['20000']['nbstream']:.1f}× faster than "
            f"`ChatCompletionStreamState`. Raw SSE bytes to a final completion (20,000 chunks, "
            f"no network): nbstream {parse['nbstream'] * 1e3:.1f} ms, the SDK's decoder + "
            f"pydantic + state {parse['sdk'] * 1e3:.1f} ms. Over loopback HTTP (8,000 chunks, "
            f"µs per chunk, best of 3): bare SDK loop {http['sdk_loop']:.1f}, "
            f"`stream_chat` fast path {http['nbstream_fast']:.1f}, "
            f"`stream_chat` through the SDK {http['nbstream_sdk_path']:.1f}.",
            "",
        ]
    )


def server_section(f: dict[str, Any]) -> str:
    keys = ["streams", "completed", "errors", "tokens_per_second_target", "ideal_gap_ms",
            "gap_p50_ms", "gap_p99_ms", "gap_max_ms", "elapsed_s", "ideal_elapsed_s",
            "aggregate_tokens_per_s"]  # fmt: skip
    rows = [[k.replace("_", " "), fmt(f.get(k))] for k in keys if k in f]
    return "\n".join(
        [
            "## Server: concurrent paced streams",
            "",
            "`bench_server.py`: the tutor server in its own process (`nbstream serve`), one "
            "raw-socket client per stream on one asyncio loop; the gap is the time between "
            "two content chunks of one stream (ideal: 1 / tokens per second).",
            "",
            md_table(["figure", "value"], rows),
            "",
        ]
    )


def browser_section(f: dict[str, Any]) -> str:
    rows = [
        ["reply", f"{f['reply_bytes']:,} bytes ({f['tokens']:,} chunks at {f['tps']:,} tok/s)"],
        ["final render after the last chunk",
         f"{f['final_render_after_last_chunk_s'] * 1000:.0f} ms"],
        ["footer after the last chunk", f"{f['footer_after_last_chunk_s'] * 1000:.0f} ms"],
        ["DOM text changes while streaming", fmt(f["dom_text_changes"])],
        ["streaming time on screen", f"{f['streaming_s']:.2f} s"],
        ["frames drawn", fmt(f["frames"])],
        ["frame gap median / 95th pct / max", f"{f['frame_gap_median_ms']:.0f} / "
         f"{f['frame_gap_p95_ms']:.0f} / {f['frame_gap_max_ms']:.0f} ms"],
        ["`page.evaluate` round trip, max", f"{f['evaluate_round_trip_max_ms']:.0f} ms "
         f"(n = {f['evaluate_round_trips']})"],
        ["rate in the footer", f"{fmt(f['footer_tokens_per_s'], 1)} tok/s"],
    ]  # fmt: skip
    return "\n".join(
        [
            "## Browser: final render of a 32 KB reply",
            "",
            "`tests/browser/test_chat_browser.py -k latency`: JupyterLab and headless Chromium; "
            "one `%%chat` cell streams `/tokens 10400` at 2,000 tok/s. A monitor in the page "
            "notes, on every animation frame, the output's text length and whether the footer "
            "is there. *Final render* = the frame at which the output reached its final text "
            "and footer, minus the kernel's wall-clock time when the `%%chat` display handled "
            "the last content delta (same machine, same clock). Goal: under 0.5 s. Frame gaps "
            "are between consecutive animation frames from the first text to the final render "
            "(60 Hz = 17 ms; a long gap means the page was busy).",
            "",
            md_table(["figure", "value"], rows),
            "",
        ]
    )


def widget_section(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            r["widget"],
            f"{r['tokens']:,} @ {fmt(r['tps'], 0) if r['tps'] else 'max'}",
            fmt(r["reply_bytes"]),
            fmt(r["payload_bytes"]),
            fmt(r["payload_ratio"]),
            fmt(r["whole_bytes"]),
            fmt(r["messages"]),
            fmt(r["peak_per_second"]),
            "yes" if r["payload_bytes"] <= 3 * r["reply_bytes"] + 20_000 else "no",
        ]
        for r in rows
    ]
    header = ["widget", "tokens @ tok/s", "reply B", "payload B", "× reply", "whole B",
              "msgs", "peak/s", "≤ 3 × reply + 20 KB"]  # fmt: skip
    return "\n".join(
        [
            "## Widget: comm traffic of one reply",
            "",
            "`bench_widget.py`: every `comm_msg` the kernel publishes for the widget under test; "
            "payload = the messages' content (comm id + data), whole = with header, parent "
            "header and metadata. The HTML row sets `HTML.value` to the whole escaped reply on "
            "every chunk.",
            "",
            md_table(header, body),
            "",
        ]
    )


def header(results: dict[str, Any]) -> str:
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    chromium = f"; {m['chromium']}" if m.get("chromium") else ""
    return (
        f"Measured {results['date']} on {m['platform']}, {m['cpu']} × {m['cpu_count']} CPUs, "
        f"Python {m['python']}{', commit ' + m['commit'] if m['commit'] else ''}"
        f"{' (--quick run)' if results['quick'] else ''}.  \nPackages: {versions}{chromium}."
    )


def markdown(results: dict[str, Any]) -> str:
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python benchmarks/run_all.py`); the raw figures are in "
        "`benchmarks/results.json`. Compare ratios within one run: absolute times depend on "
        "the machine and on whatever else it is doing.",
        "",
        header(results),
        "",
        "## Summary",
        "",
        summary(results),
        "",
    ]
    sections: dict[str, Callable[[Any], str]] = {
        "kernel": kernel_section,
        "engine": engine_section,
        "server": server_section,
        "widget": widget_section,
        "browser": browser_section,
    }
    for name, write in sections.items():
        entry = results["benchmarks"].get(name)
        if entry is None:
            continue
        if "figures" in entry:
            parts.append(write(entry["figures"]))
        elif "skipped" in entry:
            parts += [f"## {name}", "", f"Skipped: {entry['skipped']}.", ""]
        else:
            parts += [f"## {name}", "", f"Failed: {entry.get('error')}", ""]
    return "\n".join(parts).rstrip() + "\n"


SUMMARY_FULL: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("wall s", lambda r: fmt(r["wall_s"], 3)),
    ("× bare SDK", lambda r: fmt(r["x_bare"])),
    ("output msgs", lambda r: fmt(r["output"])),
    ("output B / reply B", lambda r: fmt(r["out_B/B"])),
]
SUMMARY_PACED: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("kernel CPU s", lambda r: fmt(r["cpu_s"])),
    ("output msgs", lambda r: fmt(r["output"])),
    ("peak/s", lambda r: fmt(r["peak/s"])),
    ("output B / reply B", lambda r: fmt(r["out_B/B"])),
]


def summary(results: dict[str, Any]) -> str:
    """The README table: the largest full-speed case every row ran, and the paced case;
    then one line each for the engine, the server and the browser."""
    table: list[str] = []
    notes: list[str] = []
    kernel = results["benchmarks"].get("kernel", {}).get("figures")
    if kernel:
        full = [c for c in kernel["cases"] if not c["tps"] and not c["skipped"]]
        paced = [c for c in kernel["cases"] if c["tps"]]
        chosen = full[-1:] + paced[:1]
        header_cells = ["row"]
        for c in chosen:
            tag = f"{c['tokens']:,} chunks" + (f" @ {c['tps']:g} tok/s" if c["tps"] else "")
            heads = [h for h, _ in (SUMMARY_PACED if c["tps"] else SUMMARY_FULL)]
            header_cells += [f"{tag}: {heads[0]}", *heads[1:]]
        body = []
        names = [r["row"] for r in chosen[0]["rows"]] if chosen else []
        for name in names:
            cells = [f"`{name}`" if name == "%%chat" else name]
            for c in chosen:
                columns = SUMMARY_PACED if c["tps"] else SUMMARY_FULL
                r = next((x for x in c["rows"] if x["row"] == name), None)
                cells += ["–"] * len(columns) if r is None else [f(r) for _, f in columns]
            body.append(cells)
        if body:
            table.append(md_table(header_cells, body))
    engine = results["benchmarks"].get("engine", {}).get("figures")
    if engine:
        acc = engine["accumulate_seconds"]["20000"]
        notes.append(
            f"Engine, 20,000 chunks: nbstream {acc['nbstream'] * 1e3:.1f} ms vs "
            f"`ChatCompletionStreamState` {acc['sdk_state'] * 1e3:.1f} ms "
            f"({acc['sdk_state'] / acc['nbstream']:.1f}×)."
        )
    server = results["benchmarks"].get("server", {}).get("figures")
    if server:
        notes.append(
            f"Server, {server.get('streams')} concurrent streams at "
            f"{fmt(server.get('tokens_per_second_target'), 0)} tok/s: inter-chunk gap p50 "
            f"{fmt(server.get('gap_p50_ms'))} ms, p99 {fmt(server.get('gap_p99_ms'))} ms "
            f"(ideal {fmt(server.get('ideal_gap_ms'))} ms), {server.get('errors')} errors."
        )
    browser = results["benchmarks"].get("browser", {}).get("figures")
    if browser:
        notes.append(
            f"Browser (JupyterLab, headless Chromium), {browser['reply_bytes'] / 1000:.0f} KB at "
            f"{browser['tps']:,} tok/s: final render "
            f"{browser['final_render_after_last_chunk_s'] * 1000:.0f} ms after the last chunk; "
            f"frame gaps while streaming: median {browser['frame_gap_median_ms']:.0f} ms, "
            f"longest {browser['frame_gap_max_ms']:.0f} ms."
        )
    return "\n\n".join(p for p in ("\n".join(table), "  \n".join(notes)) if p)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases (a few minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(NAMES)}")
    parser.add_argument("--json", default=str(HERE / "results.json"), help="results file")
    parser.add_argument("--md", default=str(ROOT / "docs" / "benchmarks.md"), help="write-up")
    parser.add_argument("--render", action="store_true", help="only rewrite --md from --json")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(Path(args.json).read_text())
        Path(args.md).write_text(markdown(saved))
        print(summary(saved))
        return 0
    chosen = [n.strip() for n in args.only.split(",")] if args.only else list(NAMES)
    unknown = set(chosen) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    began = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "machine": machine(),
        "benchmarks": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for name, command in commands(args.quick, out).items():
            if name not in chosen:
                continue
            if name == "browser" and not Path(CHROMIUM).exists():
                print(f"== browser: skipped, no Chromium at {CHROMIUM}")
                results["benchmarks"][name] = {"skipped": f"no Chromium at {CHROMIUM}"}
                continue
            results["benchmarks"][name] = run(name, command, out, timeout=1200)
    results["seconds"] = round(time.perf_counter() - began, 1)

    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    Path(args.md).write_text(markdown(results))
    print(f"\n{header(results)}\n")
    print(summary(results))
    print(f"\nwritten: {args.json}, {args.md} ({results['seconds']:.0f} s in all)")
    failed = [n for n, r in results["benchmarks"].items() if "error" in r]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
