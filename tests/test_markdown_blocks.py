"""The block scanner: seal points render-safe, independent of chunking, found in O(new text)."""

from __future__ import annotations

import itertools
import time

import mistune
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream.markdown_blocks import BlockScanner, ReplyText, SoftPoint, piece_markdown
from nbstream.server.answers import answer
from nbstream.server.longdoc import token_document

render = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])

SAMPLE = (
    "# Title\n\nFirst paragraph, long enough.\n\n- a\n- b\n\n  continued item b\n\n"
    "1. one\n\n2. two\n\nAfter the list.\n\n```python\nx = 1\n\n\ny = 2\n```\nRight after.\n\n"
    "<pre>\n\nraw\n\n</pre>\n\n<!-- a\n\ncomment -->\n\n$$\na\n\nb\n$$\n\n"
    "    indented\n\n    code\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote\n\n> again\n\nEnd.\n"
)


def seal_points(text: str, seal_size: int = 0, pieces: list[str] | None = None) -> list[int]:
    scanner = BlockScanner(seal_size)
    points: list[int] = []
    for piece in pieces if pieces is not None else [text]:
        points += scanner.feed(piece)
    return points


def segments(text: str, points: list[int]) -> list[str]:
    cuts = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


def long_document(tokens: int) -> str:
    return "".join(token_document(tokens, markdown=True))


def test_seal_points_in_a_sample() -> None:
    starts = [SAMPLE[p : p + 12] for p in seal_points(SAMPLE)]
    assert starts == [
        "First paragr",
        "After the li",  # the lists (items, loose parts, numbering) stay in one segment
        "```python\nx ",
        "Right after.",  # a closed fence ends its block even without a blank line
        "<pre>\n\nraw\n\n",
        "<!-- a\n\ncomm",
        "$$\na\n\nb\n$$\n\n",
        "| a | b |\n|-",  # indented code is not followed by a seal: it starts indented
        "> quote\n\n> a",
        "> again\n\nEnd",
        "End.\n",
    ]


def test_no_seal_inside_fences_html_math_or_before_indented_lines() -> None:
    for text in SAMPLE.split("\n\n"):
        assert seal_points(text) == []


@pytest.mark.parametrize(
    "text",
    [
        SAMPLE,
        long_document(3000),
        *(answer(p) for p in ("Explain quantum computing", "Tell me a story", "Hello!")),
        *(answer(p) for p in ("Write a haiku", "fibonacci in python", "List 5 EU countries")),
    ],
    ids=lambda t: t[:20],
)
def test_segments_render_exactly_like_the_whole(text: str) -> None:
    html = "".join(render(segment) for segment in segments(text, seal_points(text)))
    assert html == render(text)


@settings(max_examples=60, deadline=None)
@given(
    text=st.sampled_from([SAMPLE, long_document(900)]),
    cuts=st.lists(st.integers(min_value=0, max_value=40_000), max_size=60),
    seal_size=st.sampled_from([0, 200, 1000]),
)
def test_seal_points_do_not_depend_on_chunking(text: str, cuts: list[int], seal_size: int) -> None:
    bounds = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert seal_points(text, seal_size, pieces) == seal_points(text, seal_size)


def test_seal_points_are_at_least_seal_size_apart() -> None:
    text = long_document(6000)
    points = seal_points(text, 2000)
    assert points
    assert all(b - a >= 2000 for a, b in itertools.pairwise([0, *points]))


def test_feeding_is_linear_in_the_new_text() -> None:
    one_line = "word " * 200_000  # 1 MB without a newline, fed 4 characters at a time
    many_lines = long_document(250_000)
    for text in (one_line, many_lines):
        scanner = BlockScanner()
        began = time.perf_counter()
        for i in range(0, len(text), 4):
            scanner.feed(text[i : i + 4])
        assert scanner.offset == len(text)
        assert time.perf_counter() - began < 2.0


def test_soft_points_carry_the_open_fence() -> None:
    scanner = BlockScanner()
    scanner.feed("Intro\n\n```python\nx = 1\n")
    assert scanner.soft == SoftPoint(len("Intro\n\n```python\nx = 1\n"), "```python", "```")
    assert scanner.fence == "```"
    scanner.feed("```\nafter")
    assert scanner.soft.marker is None
    assert scanner.fence is None


def test_a_list_item_is_a_soft_point_as_soon_as_its_marker_shows() -> None:
    scanner = BlockScanner()
    scanner.feed("- first\n- se")
    assert scanner.soft == SoftPoint(len("- first\n"))


def test_piece_markdown_reopens_and_closes_a_fence() -> None:
    assert piece_markdown("y = 2\n", "```python", "```") == "```python\ny = 2\n```"
    assert piece_markdown("z", None, "~~~~") == "z\n~~~~"
    assert piece_markdown("plain") == "plain"


def test_a_backtick_run_with_backticks_after_is_inline_code_not_a_fence() -> None:
    scanner = BlockScanner()
    scanner.feed("```not a fence```\n")
    assert scanner.fence is None
    scanner.feed("~~~ ok `here`\n")
    assert scanner.fence == "~~~"


def test_reply_text_hands_out_segments_that_join_to_the_text() -> None:
    text = long_document(4000)
    reply = ReplyText(seal_size=1500, prefix="```json\n", suffix="\n```")
    reply.feed("}\n```\n\n")  # close the prefix fence so the body can be sealed
    out: list[str] = []
    for i in range(0, len(text), 7):
        reply.feed(text[i : i + 7])
        if i % 700 == 0:
            out += reply.take_sealed()
    out += reply.take_rest()
    assert "".join(out) == "```json\n}\n```\n\n" + text + "\n```"
    assert len(out) > 3
    assert reply.take_rest() == []
