"""A loopback HTTP server that answers with canned bytes, for client tests on golden streams.

The tutor server produces well-formed streams; this one sends exactly the bytes a test
gives it (quirky dialects, malformed events, drops mid-body), over real HTTP with chunked
transfer encoding, so the client under test reads from a real socket.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Canned:
    status: int = 200
    pieces: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # between pieces
    abort: bool = False  # drop the connection instead of ending the chunked body


@dataclass
class RawServer:
    base_url: str
    queue: list[Canned]
    requests: list[dict]

    def push(self, canned: Canned) -> None:
        self.queue.append(canned)

    def stream(self, body: bytes, piece: int = 0, **kwargs: object) -> None:
        pieces = [body] if not piece else [body[i : i + piece] for i in range(0, len(body), piece)]
        self.push(Canned(pieces=pieces, **kwargs))  # type: ignore[arg-type]

    def error(self, status: int, message: str, **kwargs: object) -> None:
        body = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        body["error"].update(kwargs.pop("extra", {}))  # type: ignore[arg-type]
        self.push(
            Canned(
                status=status,
                pieces=[json.dumps(body).encode()],
                headers={"content-type": "application/json", **kwargs.pop("headers", {})},
            )
        )  # type: ignore[dict-item]


@contextmanager
def raw_server() -> Iterator[RawServer]:
    queue: list[Canned] = []
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            requests.append(json.loads(self.rfile.read(length) or b"{}"))
            canned = queue.pop(0) if queue else Canned(status=500, pieces=[b"{}"])
            self.send_response(canned.status)
            headers = {"content-type": "text/event-stream", **canned.headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for piece in canned.pieces:
                if canned.delay:
                    time.sleep(canned.delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            if canned.abort:
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that stops reading early (after [DONE]) is no server error

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield RawServer(f"http://127.0.0.1:{httpd.server_address[1]}/v1", queue, requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
