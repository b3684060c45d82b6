"""Record a live stream from any OpenAI-compatible endpoint into a recording file.

Uses only the standard library (urllib and nbstream's SSE decoder), so recording works
wherever nbstream is installed; the result replays through the tutor server as
`replay:<name>` once the file is in a recordings folder.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from nbstream.recording import Recording, RecordingWriter
from nbstream.sse import SSEDecoder

__all__ = ["RecordError", "record_stream"]


class RecordError(RuntimeError):
    """The endpoint refused the request; the message carries its status and body."""


def _request(
    base_url: str, body: dict[str, Any], api_key: str | None, headers: dict[str, str] | None
) -> urllib.request.Request:
    payload = {**body, "stream": True}
    all_headers = {"content-type": "application/json", "accept": "text/event-stream"}
    if api_key:
        all_headers["authorization"] = f"Bearer {api_key}"
    all_headers.update(headers or {})
    url = base_url.rstrip("/") + "/chat/completions"
    return urllib.request.Request(url, json.dumps(payload).encode(), all_headers, method="POST")


def record_stream(
    base_url: str,
    body: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Recording:
    """Send `body` (streaming) to `base_url` and write every event, with its time, to `path`.

    Events are appended as they arrive, so a stream that breaks still leaves a valid
    recording of what came before the break (the transport error is re-raised).
    """
    request = _request(base_url, body, api_key, headers)
    writer = RecordingWriter(Path(path), model=str(body.get("model", "")), created=int(time.time()))
    decoder = SSEDecoder()
    with writer:
        writer.start()
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise RecordError(f"HTTP {exc.code}: {exc.read().decode(errors='replace')}") from None
        with response:
            while True:
                block = response.read1(65536)
                events = decoder.decode(block) if block else decoder.flush()
                for event in events:
                    try:
                        data = json.loads(event.data)
                    except json.JSONDecodeError:
                        data = event.data
                    writer.write(data if isinstance(data, (dict, str)) else event.data)
                if not block:
                    break
    return writer.recording
