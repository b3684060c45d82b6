"""Helpers shared by the server tests: request bodies, raw SSE reads, tool schemas."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from nbstream.sse import SSEDecoder

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh loop in a worker thread.

    The main thread may already run a loop (Playwright's sync API does, for the browser
    tests), so async client tests never borrow it.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def chat_body(text: str = "Hello!", **params: Any) -> dict[str, Any]:
    return {"model": "tutor", "messages": user(text), **params}


def raw_stream(
    base_url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[httpx.Response, bytes]:
    """POST a streaming request and read the body bytes exactly as they came."""
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST", base_url + "/chat/completions", json={**body, "stream": True}, headers=headers
        ) as response,
    ):
        data = b"".join(response.iter_raw())
    return response, data


def events(data: bytes) -> list[Any]:
    """Decoded `data:` payloads: dicts for JSON, the string `[DONE]` as is."""
    decoder = SSEDecoder()
    out = decoder.decode(data) + decoder.flush()
    return [e.data if e.data == "[DONE]" else json.loads(e.data) for e in out]


def content_of(chunks: list[Any], index: int = 0) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c.get("choices") and c["choices"][0]["index"] == index
    )


WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name, e.g. Berlin"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
STOCK_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_stock_price",
        "description": "Latest price of a stock",
        "parameters": {
            "type": "object",
            "properties": {"ticker": {"type": "string", "description": "Ticker symbol"}},
            "required": ["ticker"],
        },
    },
}
