"""Load benchmark for the tutor server: many concurrent paced streams against one server.

    python benchmarks/bench_server.py                  # 100 streams, 50 tokens/s, 200 tokens each
    python benchmarks/bench_server.py --streams 20 --tokens 100 --in-process

The server runs in its own process by default (`nbstream serve`), so the client's work does
not share a GIL with it. For each content chunk the client notes the arrival time; the report
gives how many streams completed, the inter-chunk gap percentiles (ideal: 1/tps) and errors.
Traffic stays on loopback and every request is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


@contextmanager
def server_url(tps: float, in_process: bool, url: str | None) -> Iterator[str]:
    """Start a tutor server (subprocess or thread) paced at `tps`; yield its base URL."""
    if url:
        yield url
        return
    if in_process:
        from nbstream.server import TutorServer

        with TutorServer(tokens_per_second=tps) as server:
            yield server.base_url
        return
    cmd = [
        sys.executable,
        "-m",
        "nbstream",
        "serve",
        "--tokens-per-second",
        str(tps),
        "--ttft-ms",
        "0",
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield line.split("OPENAI_BASE_URL=")[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


async def one_stream(url: str, tokens: int, gaps: list[float]) -> int:
    """Run one stream over a raw socket; record inter-chunk gaps; return content chunks.

    A minimal HTTP/1.1 client (one `data:` event per HTTP chunk, as the server writes them)
    keeps the client's own cost per event small, so the gaps measure the server's pacing.
    """
    parsed = urlsplit(url)
    body = json.dumps(
        {
            "model": "tutor",
            "stream": True,
            "messages": [{"role": "user", "content": f"/tokens {tokens}"}],
        }
    ).encode()
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    request = (
        f"POST {parsed.path}/chat/completions HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    writer.write(request + body)
    last: float | None = None
    count = 0
    done = False
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.split(b"\r\n")[0].decode())
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                break
            chunk = await reader.readexactly(size + 2)
            now = time.perf_counter()
            if chunk.startswith(b"data: [DONE]"):
                done = True
            elif b'"delta":{"content":"' in chunk and b'"content":""' not in chunk:
                if last is not None:
                    gaps.append(now - last)
                last = now
                count += 1
    finally:
        writer.close()
    if not done or count != tokens:
        raise RuntimeError(f"stream ended early: {count}/{tokens} tokens, [DONE]={done}")
    return count


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, url: str) -> dict[str, object]:
    gaps: list[float] = []
    limit = args.tokens / args.tps * 4 + 30
    start = time.perf_counter()
    results = await asyncio.gather(
        *(asyncio.wait_for(one_stream(url, args.tokens, gaps), limit) for _ in range(args.streams)),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - start
    errors = [r for r in results if isinstance(r, BaseException)]
    tokens = sum(r for r in results if isinstance(r, int))
    return {
        "streams": args.streams,
        "completed": args.streams - len(errors),
        "errors": len(errors),
        "error_kinds": sorted({type(e).__name__ for e in errors}),
        "tokens_per_second_target": args.tps,
        "ideal_gap_ms": round(1000 / args.tps, 2),
        "gap_p50_ms": round(statistics.median(gaps) * 1000, 2) if gaps else None,
        "gap_p99_ms": round(percentile(gaps, 0.99) * 1000, 2) if gaps else None,
        "gap_max_ms": round(max(gaps) * 1000, 2) if gaps else None,
        "elapsed_s": round(elapsed, 2),
        "ideal_elapsed_s": round(args.tokens / args.tps, 2),
        "aggregate_tokens_per_s": round(tokens / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--tps", type=float, default=50.0, help="tokens per second per stream")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per stream")
    parser.add_argument("--in-process", action="store_true", help="run the server in a thread")
    parser.add_argument("--url", help="use a running loopback server (started with the same --tps)")
    args = parser.parse_args()
    if not (1 <= args.streams <= 1000 and 1 <= args.tokens <= 100_000 and args.tps > 0):
        parser.error("keep --streams in 1..1000, --tokens in 1..100000 and --tps > 0")
    with server_url(args.tps, args.in_process, args.url) as url:
        report = asyncio.run(run(args, url))
    for key, value in report.items():
        print(f"{key:>26}: {value}")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
