"""Checks for the teaching notebooks' exercises: run the learner's code, say what is wrong.

Each `check_*` runs the learner's function on several streams: the tutor server's own bytes
(from a private server, so exactly what a client receives) and awkward variants made from
them (n=2, a usage chunk, `choices: null`, no `[DONE]`, cut off mid-event, CRLF, every
dialect the tutor emulates). The expected answers come from nbstream's tested engine, so the
exercises and the library cannot disagree.

A check prints one line per case, `✓ plain` or
`✗ n=2 (two choices, interleaved): choices[1].message.content: expected 'Sure! ...', got ''`,
and ends with `✓ all N checks passed`; otherwise it raises `ExerciseFailed`, which a
notebook shows as one line under the report.

    notebook  check                 the learner writes
    00        check_ask             ask(prompt) -> str
    01        check_sse_parser      parse_sse(body: bytes) -> list[dict]
    02        check_accumulator     accumulate(chunks) -> {"model", "choices", "usage"}
    03        check_tool_calls      accumulate_tool_calls(chunks) -> [{"id", "name", "arguments"}]
    04        check_retry_delay     retry_delay(status, headers, attempt) -> float | None
    05        check_stream_stats    stream_stats([(t, chunk)]) -> {"ttft", ...}
    06        check_concurrent      async gather_replies(client, prompts) -> list[str]  (await it)
    07        check_throttle        throttled_renders([(t, delta)], interval) -> list[str]
    08        check_dialects        accumulate(chunks), as in 02, on every server dialect
"""

from __future__ import annotations

from ._parsing import (
    check_accumulator,
    check_ask,
    check_dialects,
    check_sse_parser,
    check_tool_calls,
)
from ._report import ExerciseFailed
from ._runtime import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    check_concurrent,
    check_retry_delay,
    check_stream_stats,
    check_throttle,
    reference_retry_delay,
    reference_stream_stats,
    reference_throttle,
)
from ._streams import chunks_of

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "ExerciseFailed",
    "check_accumulator",
    "check_ask",
    "check_concurrent",
    "check_dialects",
    "check_retry_delay",
    "check_sse_parser",
    "check_stream_stats",
    "check_throttle",
    "check_tool_calls",
    "chunks_of",
    "reference_retry_delay",
    "reference_stream_stats",
    "reference_throttle",
]
