"""`TutorServer`: the tutor app on real HTTP, in a background thread, on loopback.

Notebooks, tests and the CLI all use this one class. It binds the socket itself (so port 0
gives a free port that is known before the thread starts), runs uvicorn in a daemon thread,
returns from `start()` only once connections are accepted, and on `stop()` aborts open
streams first so a stalled or slow stream never delays shutdown.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from types import TracebackType

import uvicorn

from nbstream.server.app import TutorSettings, create_app

__all__ = ["RemoteHostError", "TutorServer", "is_loopback"]

START_TIMEOUT = 10.0


class RemoteHostError(ValueError):
    """A non-loopback host was asked for without `allow_remote=True`."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; False for 0.0.0.0 and real interfaces."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TutorServer:
    """An OpenAI-compatible tutor server running in a thread; use `with TutorServer() as s:`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        tokens_per_second: float | None = None,
        ttft_ms: float | None = None,
        accept_any_model: bool = False,
        faults: str | None = None,
        allow_remote: bool = False,
        recordings_dir: str | os.PathLike[str] | None = None,
        log_level: str = "warning",
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise RemoteHostError(
                f"refusing to listen on non-loopback host {host!r}: pass allow_remote=True "
                "(--allow-remote) to expose the tutor server to other machines"
            )
        self.host = host
        self.app = create_app(
            api_key=api_key,
            tokens_per_second=tokens_per_second,
            ttft_ms=ttft_ms,
            accept_any_model=accept_any_model,
            faults=faults,
            recordings_dir=recordings_dir,
        )
        self._requested_port = port
        self._log_level = log_level
        self._socket: socket.socket | None = None
        self._bound_port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> TutorSettings:
        return self.app.state.tutor  # type: ignore[no-any-return]

    @property
    def port(self) -> int:
        """The bound port (only known once started, when port 0 was asked for)."""
        return self._bound_port or self._requested_port

    @property
    def url(self) -> str:
        """The server root, e.g. `http://127.0.0.1:41234`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client wants as `base_url`, e.g. `http://127.0.0.1:41234/v1`."""
        return self.url + "/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host.strip("[]"), self._requested_port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        return sock

    def start(self) -> TutorServer:
        """Start serving in a daemon thread; return once connections are accepted."""
        if self.running:
            return self
        self._socket = self._bind()
        self._bound_port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            http="h11",
            lifespan="off",
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = server = uvicorn.Server(config)
        sockets = [self._socket]
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": sockets}, name="nbstream-tutor", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the tutor server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Abort open streams, shut uvicorn down gracefully and join its thread."""
        self.settings.streams.abort_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._thread = None
        self._server = None
        self.settings.streams.closing = False

    def __enter__(self) -> TutorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<TutorServer {self.base_url} {state}>"
