"""Recordings: the file format, recording a live stream, and replaying it as a model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from server_helpers import chat_body, events, raw_stream, user

from nbstream.__main__ import main
from nbstream.recording import (
    Recording,
    RecordingError,
    RecordingEvent,
    RecordingWriter,
    load_recording,
    save_recording,
)
from nbstream.server import TutorServer
from nbstream.server.record import RecordError, record_stream
from nbstream.server.replay import SHIPPED_DIR
from nbstream.testing import running_server


def test_save_load_roundtrip(tmp_path: Path) -> None:
    rec = Recording(
        "tutor", 1735689600, [RecordingEvent(0.1, {"id": "x"}), RecordingEvent(0.2, "[DONE]")]
    )
    path = save_recording(rec, tmp_path / "r.jsonl")
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {
        "nbstream_recording": 1,
        "model": "tutor",
        "created": 1735689600,
    }
    assert json.loads(lines[2]) == {"t": 0.2, "data": "[DONE]"}
    loaded = load_recording(path)
    assert (
        loaded.events == rec.events and loaded.duration == 0.2 and loaded.chunks() == [{"id": "x"}]
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ('{"model": "x"}\n', "missing header"),
        ('{"nbstream_recording": 1}\nnot json\n', ":2: not JSON"),
        ('{"nbstream_recording": 1}\n{"t": -1, "data": "[DONE]"}\n', "non-negative"),
        ('{"nbstream_recording": 1}\n{"t": 0, "data": 5}\n', "chunk object or a string"),
    ],
)
def test_bad_files_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordingError, match=message):
        load_recording(path)


def test_writer_appends_as_events_arrive(tmp_path: Path) -> None:
    clock = iter([10.0, 10.5, 11.25]).__next__
    with RecordingWriter(tmp_path / "w.jsonl", model="m", clock=clock) as writer:
        writer.start()
        writer.write({"a": 1})
        assert len((tmp_path / "w.jsonl").read_text().splitlines()) == 2  # flushed already
        writer.write("[DONE]")
    assert [e.t for e in load_recording(tmp_path / "w.jsonl").events] == [0.5, 1.25]


def test_record_from_a_live_server_and_replay_it(tmp_path: Path) -> None:
    with running_server(tokens_per_second=100, recordings_dir=tmp_path) as srv:
        body = chat_body("Say this is a test", stream_options={"include_usage": True})
        rec = record_stream(srv.base_url, body, tmp_path / "mine.jsonl")
        assert rec.events[-1].data == "[DONE]"
        times = [e.t for e in rec.events]
        assert times == sorted(times) and times[-1] >= 0.04  # paced at 100 tokens/s
        original = raw_stream(srv.base_url, body)[1]
        replayed = raw_stream(srv.base_url, {"model": "replay:mine", "messages": user("ignored")})[
            1
        ]
        assert replayed == original  # same events, re-encoded byte for byte
        with OpenAI(base_url=srv.base_url, api_key="k") as client:
            plain = client.chat.completions.create(model="replay:mine", messages=user("x"))
        assert plain.choices[0].message.content == "This is a test.\n"
        assert plain.usage is not None and plain.usage.completion_tokens == 6
        with pytest.raises(RecordError, match="HTTP 404"):
            record_stream(srv.base_url, chat_body(model="nope"), tmp_path / "x.jsonl")


def test_shipped_recordings_replay_at_scaled_speed(server: TutorServer) -> None:
    names = sorted(p.stem for p in SHIPPED_DIR.glob("*.jsonl"))
    assert names == ["first-stream", "ollama-dialect", "weather-tool-call"]
    duration = load_recording(SHIPPED_DIR / "first-stream.jsonl").duration
    assert duration > 1.0
    start = time.perf_counter()
    _, data = raw_stream(
        server.base_url, {"model": "replay:first-stream@speed=4", "messages": user("x")}
    )
    elapsed = time.perf_counter() - start
    assert duration / 4 - 0.05 < elapsed < duration / 4 + 0.5
    assert "Hello!" in "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in events(data)
        if isinstance(c, dict) and c["choices"]
    )
    start = time.perf_counter()
    raw_stream(server.base_url, {"model": "replay:first-stream@speed=0", "messages": user("x")})
    assert time.perf_counter() - start < elapsed / 2


def test_replay_ollama_and_tool_call_recordings(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="replay:ollama-dialect@speed=0", messages=user("x"), stream=True
        )
    )
    assert all(c.choices[0].delta.role == "assistant" for c in chunks)
    tool = client.chat.completions.create(model="replay:weather-tool-call", messages=user("x"))
    calls = tool.choices[0].message.tool_calls or []
    assert [
        json.loads(c.function.arguments)["location"] for c in calls if c.type == "function"
    ] == [
        "Berlin",
        "Paris",
    ]


def test_replay_faults_still_apply(client: OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        list(
            client.chat.completions.create(
                model="replay:first-stream@speed=0,drop=3", messages=user("x"), stream=True
            )
        )


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "/etc/passwd",
        "..%2F..%2Fpyproject",
        "nope",
        "recordings/../../app.py",
        "",
    ],
)
def test_replay_cannot_read_arbitrary_files(server: TutorServer, name: str) -> None:
    response = httpx.post(
        server.base_url + "/chat/completions",
        json={"model": f"replay:{name}", "messages": user("x")},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_cli_record_writes_a_replayable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.jsonl"
    assert (
        main(["record", "Hello!", "-o", str(out), "--base-url", "", "--tokens-per-second", "0"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["file"] == str(out) and summary["events"] > 5
    assert load_recording(out).events[-1].data == "[DONE]"
