"""The SSE decoder: framing rules of section 1.2 of the protocol reference."""

from __future__ import annotations

from nbstream.sse import ServerSentEvent, SSEDecoder, encode_comment, encode_data, encode_event


def decode_all(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = []
    for piece in pieces:
        events += decoder.decode(piece)
    return events + decoder.flush()


def test_data_lines_with_and_without_space() -> None:
    assert decode_all(b"data: a\n\ndata:b\n\n") == [ServerSentEvent("a"), ServerSentEvent("b")]


def test_only_one_space_is_stripped() -> None:
    assert decode_all(b"data:  [DONE]\n\n") == [ServerSentEvent(" [DONE]")]


def test_multiline_data_is_joined_with_newlines() -> None:
    assert decode_all(b"data: {\ndata: }\n\n") == [ServerSentEvent("{\n}")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    body = b': keep-alive\n\nerror: {"x":1}\n\ndata: x\n\n'
    assert decode_all(body) == [ServerSentEvent("x")]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode_all(b"event: ping\n\ndata: y\n\n") == [ServerSentEvent("y")]


def test_event_name_id_and_retry_are_kept() -> None:
    (event,) = decode_all(b"event: error\nid: 7\nretry: 500\ndata: z\n\n")
    assert event == ServerSentEvent("z", "error", "7", 500)


def test_line_endings_cr_lf_crlf_even_split() -> None:
    expected = [ServerSentEvent("a"), ServerSentEvent("b"), ServerSentEvent("c")]
    assert decode_all(b"data: a\r\rdata: b\r\n\r\ndata: c\n\n") == expected
    assert decode_all(b"data: a\r", b"\r", b"data: b\r", b"\n\r", b"\ndata: c\n", b"\n") == expected


def test_utf8_split_across_reads() -> None:
    body = "data: héllo 👋\n\n".encode()
    pieces = [body[i : i + 1] for i in range(len(body))]
    assert decode_all(*pieces) == [ServerSentEvent("héllo 👋")]


def test_unicode_line_separators_do_not_split() -> None:
    assert decode_all("data: a\u2028b\n\n".encode()) == [ServerSentEvent("a\u2028b")]


def test_flush_hands_over_an_unterminated_last_event() -> None:
    assert decode_all(b"data: x\n\ndata: [DONE]") == [
        ServerSentEvent("x"),
        ServerSentEvent("[DONE]"),
    ]


def test_encoders_roundtrip() -> None:
    body = encode_data({"a": "b\nc"}) + encode_comment() + encode_event("ping", "[DONE]")
    assert body.count(b"\n\n") == 3
    assert decode_all(body) == [ServerSentEvent('{"a":"b\\nc"}'), ServerSentEvent("[DONE]", "ping")]
