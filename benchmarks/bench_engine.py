"""Engine speed: nbstream's accumulator against the SDK's, and the fast path against the SDK loop.

Prints, within one run (compare ratios, not absolute times, on a shared machine):

1. accumulation only, chunks already parsed: 2,000 vs 20,000 chunks for nbstream's
   `StreamAccumulator` and the SDK's `ChatCompletionStreamState` (linear cost: ratio ~10);
2. parsing raw SSE bytes into a final completion, no network: nbstream's `StreamParser`
   against the SDK's decoder + pydantic chunk + `ChatCompletionStreamState`;
3. over real loopback HTTP from the built-in tutor server: per-chunk microseconds of
   `nbstream.stream_chat` (fast path) and the SDK's own `for chunk in stream` loop.

Usage: python benchmarks/bench_engine.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import openai
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from nbstream import StreamAccumulator, StreamParser, stream_chat
from nbstream.retry import NO_RETRY
from nbstream.testing import running_server


def make_chunks(n: int) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-b", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
    ]
    words = ["Stream", "ing", " is", " a", " sequence", " of", " small", " deltas", ".", "\n\n"]
    for i in range(n - 2):
        chunks.append(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": words[i % 10]},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            }
        )
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]}
    )
    return chunks


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def nbstream_accumulate(chunks: list[dict[str, Any]]) -> None:
    acc = StreamAccumulator()
    for chunk in chunks:
        acc.feed(chunk)
    acc.completion()


def sdk_accumulate(chunks: list[ChatCompletionChunk]) -> None:
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    state.current_completion_snapshot  # noqa: B018 - the SDK's final snapshot


def sse_body(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


def nbstream_parse(body: bytes) -> None:
    parser = StreamParser()
    for i in range(0, len(body), 4096):
        parser.feed_bytes(body[i : i + 4096])
    parser.finish()
    parser.acc.completion()


def sdk_parse(body: bytes) -> None:
    from openai._streaming import SSEDecoder

    state = ChatCompletionStreamState()
    decoder = SSEDecoder()
    pieces = (body[i : i + 4096] for i in range(0, len(body), 4096))
    for sse in decoder.iter_bytes(pieces):
        if sse.data.startswith("[DONE]"):
            break
        state.handle_chunk(ChatCompletionChunk.construct(**json.loads(sse.data)))
    state.current_completion_snapshot  # noqa: B018


def http_rows(n: int) -> dict[str, float]:
    messages = [{"role": "user", "content": f"/tokens {n}"}]
    with running_server() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="bench")

        def sdk_loop() -> None:
            text = []
            for chunk in client.chat.completions.create(
                model="tutor", messages=messages, stream=True
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    text.append(chunk.choices[0].delta.content)

        def fast() -> None:
            stream_chat(client, model="tutor", messages=messages, retry=NO_RETRY).until_done()

        def sdk_path() -> None:
            stream_chat(
                client, model="tutor", messages=messages, retry=NO_RETRY, fast=False
            ).until_done()

        rows = {"sdk_loop": sdk_loop, "nbstream_fast": fast, "nbstream_sdk_path": sdk_path}
        return {name: best_of(fn, 3) / n * 1e6 for name, fn in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "openai": openai.__version__,
    }

    print("1. accumulation only (chunks already parsed)")
    acc: dict[str, dict[str, float]] = {}
    for n in (2_000, 20_000):
        dicts = make_chunks(n)
        models = [ChatCompletionChunk.construct(**c) for c in dicts]
        acc[str(n)] = {
            "nbstream": best_of(lambda d=dicts: nbstream_accumulate(d)),
            "sdk_state": best_of(lambda m=models: sdk_accumulate(m)),
        }
    for who in ("nbstream", "sdk_state"):
        small, large = acc["2000"][who], acc["20000"][who]
        print(
            f"   {who:<10} 2,000: {small * 1e3:7.2f} ms   20,000: {large * 1e3:7.2f} ms   "
            f"ratio {large / small:5.1f}"
        )
    print(
        f"   nbstream is {acc['20000']['sdk_state'] / acc['20000']['nbstream']:.1f}x faster "
        "than ChatCompletionStreamState at 20,000 chunks"
    )
    results["accumulate_seconds"] = acc

    print("2. raw SSE bytes -> final completion, no network (20,000 chunks)")
    body = sse_body(make_chunks(20_000))
    parse = {
        "nbstream": best_of(lambda: nbstream_parse(body)),
        "sdk": best_of(lambda: sdk_parse(body)),
    }
    for who, seconds in parse.items():
        print(f"   {who:<10} {seconds * 1e3:7.1f} ms   {seconds / 20_000 * 1e6:5.2f} us/chunk")
    print(f"   ratio sdk/nbstream {parse['sdk'] / parse['nbstream']:.1f}")
    results["parse_seconds_20000"] = parse

    print("3. real loopback HTTP from the tutor server (8,000 chunks, us per chunk, best of 3)")
    http = http_rows(8_000)
    for who, micros in http.items():
        print(f"   {who:<18} {micros:6.2f} us/chunk")
    print(f"   fast path / bare SDK loop: {http['nbstream_fast'] / http['sdk_loop']:.2f}")
    results["http_us_per_chunk_8000"] = http
    results["http_median_us"] = statistics.median(http.values())

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
