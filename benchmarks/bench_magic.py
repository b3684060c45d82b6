"""What `%%chat` costs the frontend, measured on a real kernel's iopub channel.

Rows, each run in one kernel against the built-in tutor server (which runs in this process,
so the kernel only pays for the client side), for an 8,000-chunk reply (`/tokens 8000`):

- bare SDK loop: `for chunk in client.chat.completions.create(stream=True)`, accumulating
  the text and showing nothing (the baseline of the issue);
- nbstream loop: `stream_chat(...).until_done()`, showing nothing (nbstream's own floor);
- `%%chat`: the magic with its live display;
- naive: the SDK loop plus `handle.update(Markdown(all_text))` on every chunk.

Columns: wall time (execute_request to idle, median of --repeat), display messages and the
busiest second (kernel timestamps), bytes of the display messages' serialized `content`
(what the bound is about) and of the whole messages as re-serialized by the kernel
session's own packer (header, parent header, signature: the wire), each per reply byte.

A second table drives the renderer in-process with a simulated clock (no kernel), for 20
to 20,000 tokens/s and replies up to 1 MB, where real time would take hours.

Usage: python benchmarks/bench_magic.py [--repeat 5] [--no-naive] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from _kernel import execute, kernel_env, started_kernel, table

from nbstream.display import LiveReply, message_size
from nbstream.events import ChoiceFinished, ContentDelta
from nbstream.server.longdoc import token_document
from nbstream.testing import running_server

PROMPT = "/tokens 8000"

BARE = """\
import openai
_client = openai.OpenAI(base_url={url!r}, api_key="bench")
_parts = []
with _client.chat.completions.create(model="tutor", stream=True,
        messages=[{{"role": "user", "content": {prompt!r}}}]) as _stream:
    for _chunk in _stream:
        if _chunk.choices and _chunk.choices[0].delta.content:
            _parts.append(_chunk.choices[0].delta.content)
_text = "".join(_parts)"""

NBSTREAM = """\
import openai
from nbstream import stream_chat
_client = openai.OpenAI(base_url={url!r}, api_key="bench")
_text = stream_chat(_client, model="tutor",
    messages=[{{"role": "user", "content": {prompt!r}}}]).until_done().text"""

MAGIC = "%%chat --no-history\n{prompt}"

NAIVE = """\
import openai
from IPython.display import Markdown, display
_client = openai.OpenAI(base_url={url!r}, api_key="bench")
_handle = display(Markdown(""), display_id=True)
_text = ""
with _client.chat.completions.create(model="tutor", stream=True,
        messages=[{{"role": "user", "content": {prompt!r}}}]) as _stream:
    for _chunk in _stream:
        if _chunk.choices and _chunk.choices[0].delta.content:
            _text += _chunk.choices[0].delta.content
            _handle.update(Markdown(_text))"""


def kernel_rows(repeat: int, naive: bool) -> list[dict[str, Any]]:
    size = len("".join(token_document(8000)).encode())
    with running_server() as server, started_kernel(kernel_env(server.base_url)) as kernel:
        kc = kernel.client
        execute(kc, "%load_ext nbstream")
        cells = {
            "bare SDK loop": BARE.format(url=server.base_url, prompt=PROMPT),
            "nbstream loop": NBSTREAM.format(url=server.base_url, prompt=PROMPT),
            "%%chat": MAGIC.format(prompt=PROMPT),
        }
        for code in cells.values():
            execute(kc, code)  # warm up imports and connections
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cells}
        for _ in range(repeat):
            for name, code in cells.items():  # interleaved, so drift hits all alike
                runs[name].append(execute(kc, code))
        if naive:
            runs["naive update(Markdown(all_text))"] = [
                execute(kc, NAIVE.format(url=server.base_url, prompt=PROMPT))
            ]
    base = statistics.median(r["wall"] for r in runs["bare SDK loop"])
    rows = []
    for name, results in runs.items():
        last = results[-1]
        wall = statistics.median(r["wall"] for r in results)
        row = {"row": name, "wall_s": wall, "x_bare": wall / base}
        row.update({k: last[k] for k in ("iopub", "display", "busiest")})
        row["content_B_per_B"] = last["content"] / size
        row["wire_B_per_B"] = last["wire"] / size
        row.update(content_bytes=last["content"], wire_bytes=last["wire"], reply_bytes=size)
        rows.append(row)
    return rows


class _Sink:
    def __init__(self, clock: Any) -> None:
        self.clock, self.times, self.bytes = clock, [], 0

    def publish(
        self, data: dict[str, str], display_id: str | None = None, update: bool = False
    ) -> None:
        self.times.append(self.clock.now)
        self.bytes += message_size(data, display_id)

    def write(self, text: str) -> None:
        pass


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def simulated_rows() -> list[dict[str, Any]]:
    rows = []
    for tokens, label in ((8000, "32 KB"), (330_000, "1 MB")):
        pieces = list(token_document(tokens))
        size = len("".join(pieces).encode())
        for tps in (20, 200, 2_000, 20_000):
            clock = _Clock()
            sink = _Sink(clock)
            view = LiveReply(sink, clock=clock)
            view.start()
            for piece in pieces:
                clock.now += 1 / tps
                view.handle(ContentDelta(0, piece))
            view.handle(ChoiceFinished(0, "stop"))
            view.finish(None)
            times = sink.times
            busiest = max(
                sum(1 for u in times[i : i + 60] if u < t + 1) for i, t in enumerate(times)
            )
            row = {"reply": label, "tok/s": tps, "seconds": clock.now, "messages": len(times)}
            row.update(busiest=busiest, content_B_per_B=sink.bytes / size)
            row["bound_B_per_B"] = (3 * size + 20_000) / size
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-naive", action="store_true", help="skip the slow naive row")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    print(f"Real kernel, {PROMPT!r} from the tutor server (median of {args.repeat} runs)")
    rows = kernel_rows(args.repeat, not args.no_naive)
    table(rows, ["row", "wall_s", "x_bare", "iopub", "display", "busiest", "content_B_per_B",
                 "wire_B_per_B"])  # fmt: skip
    size = rows[0]["reply_bytes"]
    print(
        f"reply {size} bytes; the bound, 3 x size + 20 KB, is {(3 * size + 20_000) / size:.2f} B/B"
    )
    print("busiest = display messages in the busiest second (kernel timestamps)\n")

    print("Simulated clock, renderer only (content bytes of display messages)")
    sim = simulated_rows()
    table(sim, ["reply", "tok/s", "seconds", "messages", "busiest", "content_B_per_B",
                "bound_B_per_B"])  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"kernel": rows, "simulated": sim}, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
