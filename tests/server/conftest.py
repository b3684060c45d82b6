"""Fixtures for the tutor server tests: one real server on loopback for the whole session.

Everything about timing, drops and stalls goes over real HTTP (uvicorn in a thread on a free
port). Tests that need their own settings start their own server with `running_server()`,
which always stops it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from nbstream.server import TutorServer


@pytest.fixture(scope="session")
def server() -> Iterator[TutorServer]:
    with TutorServer() as srv:
        yield srv


@pytest.fixture
def client(server: TutorServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="tutor", max_retries=0) as c:
        yield c
