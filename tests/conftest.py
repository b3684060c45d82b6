"""Shared fixtures: one real tutor server on loopback for the whole run, stopped at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from nbstream.endpoint import TUTOR_KEY, Endpoint
from nbstream.server import TutorServer

# Tests must never reach a real endpoint by accident.
for _name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def tutor_server() -> Iterator[TutorServer]:
    with TutorServer() as server:
        yield server


@pytest.fixture
def tutor_endpoint(tutor_server: TutorServer) -> Endpoint:
    return Endpoint(tutor_server.base_url, TUTOR_KEY, "test tutor", embedded=True)
