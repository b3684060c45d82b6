"""nbstream's built-in OpenAI-compatible teaching server (see docs/server.md).

from nbstream.server import TutorServer

with TutorServer() as server:          # 127.0.0.1 on a free port, in a thread
    client = OpenAI(base_url=server.base_url, api_key="tutor")
"""

from __future__ import annotations

from nbstream.server.app import create_app
from nbstream.server.runner import RemoteHostError, TutorServer

__all__ = ["RemoteHostError", "TutorServer", "create_app"]
