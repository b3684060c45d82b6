"""Property tests: how bytes are cut, or chunks grouped, never changes the result."""

from __future__ import annotations

import json

from goldens import COMPLETE, golden
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream.accumulator import StreamAccumulator
from nbstream.parser import StreamParser, parse_stream


def split_at(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(body[start:point])
        start = point
    pieces.append(body[start:])
    return pieces


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(COMPLETE), cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_splitting_bytes_never_changes_the_result(name: str, cuts: list[int]) -> None:
    body = golden(name)
    assert parse_stream(split_at(body, cuts)) == parse_stream([body])


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(COMPLETE))
def test_every_single_byte_offset(name: str) -> None:
    body = golden(name)
    expected = parse_stream([body])
    for offset in range(len(body)):
        assert parse_stream([body[:offset], body[offset:]]) == expected


def _chunks(name: str) -> list[dict]:
    parser = StreamParser()
    seen: list[dict] = []
    parser.on_chunk = seen.append
    parser.feed_bytes(golden(name))
    return seen


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(COMPLETE), sizes=st.lists(st.integers(1, 5), max_size=20))
def test_chunks_one_by_one_or_all_at_once(name: str, sizes: list[int]) -> None:
    chunks = _chunks(name)
    one = StreamAccumulator()
    for chunk in chunks:
        one.feed(chunk)
    # The same chunks, re-serialised and fed in groups through the byte path.
    parser = StreamParser()
    index = 0
    for size in [*sizes, len(chunks)]:
        group = chunks[index : index + size]
        index += size
        parser.feed_bytes(b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in group))
    assert parser.acc.completion() == one.completion()


text_pieces = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(pieces=text_pieces, cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_arbitrary_text_survives_any_split(pieces: list[str], cuts: list[int]) -> None:
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)
    completion, _ = parse_stream(split_at(body, cuts))
    assert completion["choices"][0]["message"]["content"] == "".join(pieces)
