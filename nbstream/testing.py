"""Helpers for tests and notebooks that need a tutor server for a little while.

from nbstream.testing import running_server

with running_server(faults="drop=3,times=1") as server:
    ...  # server.base_url is ready; the server stops when the block ends
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nbstream.server import TutorServer

__all__ = ["running_server"]


@contextmanager
def running_server(**kwargs: Any) -> Iterator[TutorServer]:
    """Start a `TutorServer(**kwargs)` on loopback, yield it started, and always stop it."""
    server = TutorServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
