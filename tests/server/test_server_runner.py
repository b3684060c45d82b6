"""TutorServer's life cycle, loopback policy, the CLI, and quiet logs on deliberate drops."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from server_helpers import chat_body, raw_stream

from nbstream.__main__ import main
from nbstream.server import RemoteHostError, TutorServer
from nbstream.server.runner import is_loopback
from nbstream.testing import running_server


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_non_loopback_needs_allow_remote() -> None:
    with pytest.raises(RemoteHostError) as info:
        TutorServer("0.0.0.0")
    assert "\n" not in str(info.value) and "allow_remote" in str(info.value)
    assert TutorServer("0.0.0.0", allow_remote=True).host == "0.0.0.0"  # allowed, not started


def test_life_cycle() -> None:
    server = TutorServer()
    assert not server.running and "stopped" in repr(server)
    with server as srv:
        assert srv.running and srv.port > 0
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        assert srv.start() is srv  # starting twice is harmless
        assert httpx.get(srv.url + "/health").status_code == 200
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health")
    server.stop()  # stopping twice is harmless too


def test_port_in_use_is_an_os_error() -> None:
    with running_server() as srv, pytest.raises(OSError):
        TutorServer(port=srv.port).start()


def test_running_server_stops_on_error() -> None:
    with pytest.raises(RuntimeError, match="boom"), running_server() as srv:
        kept = srv
        raise RuntimeError("boom")
    assert not kept.running


def test_deliberate_drops_log_nothing(
    server: TutorServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="uvicorn.error"),
        pytest.raises(httpx.RemoteProtocolError),
    ):
        raw_stream(server.base_url, chat_body(), {"x-nbstream-fault": "drop=1"})
    assert not [r for r in caplog.records if "without completing" in r.getMessage()]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serve_prints_one_line_without_the_key(stop_signal: signal.Signals) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "nbstream",
        "serve",
        "--api-key",
        "sk-hidden-42",
        "--tokens-per-second",
        "0",
    ]
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "sk-hidden-42" not in line
        assert "OPENAI_BASE_URL=http://127.0.0.1:" in line and "OPENAI_API_KEY=" in line
        base_url = line.split("OPENAI_BASE_URL=")[1].split()[0]
        reply = httpx.post(
            base_url + "/chat/completions",
            json=chat_body(),
            headers={"authorization": "Bearer sk-hidden-42"},
        )
        assert reply.status_code == 200
    finally:
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "sk-hidden-42" not in out + err and "Traceback" not in err


def test_cli_serve_refuses_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-remote" in err


def test_cli_serve_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", "--port", str(busy.getsockname()[1])]) == 2
    assert "nbstream serve:" in capsys.readouterr().err
