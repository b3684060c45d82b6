"""Which server to talk to, with which key: one setting away from the offline tutor.

Precedence: explicit arguments > a named profile > the `OPENAI_BASE_URL` / `OPENAI_API_KEY`
environment variables > the embedded tutor server. The embedded server starts on first use
in a background thread on 127.0.0.1 and a free port, and says so in one line, so a notebook
works offline, free and reproducibly until a real endpoint is configured.

Keys never appear in a repr, a message or a notebook: `mask_key` is the only way they are
shown.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

import openai

__all__ = [
    "Endpoint",
    "async_client",
    "default_model",
    "embedded_server",
    "mask_key",
    "register_profile",
    "resolve_endpoint",
    "stop_embedded_server",
    "sync_client",
]

TUTOR_KEY = "nbstream-tutor"  # the embedded server accepts any key; this one says what it is
_lock = threading.Lock()
_server = None  # type: ignore[var-annotated]  # the embedded TutorServer, started lazily
_profiles: dict[str, Endpoint] = {}
_sync_clients: dict[tuple[str, str], openai.OpenAI] = {}
_async_clients: dict[tuple[str, str, int], openai.AsyncOpenAI] = {}


def mask_key(key: str | None) -> str:
    """`sk-…abcd` style: enough to tell keys apart, never enough to use one."""
    if not key:
        return "(none)"
    if key == TUTOR_KEY:
        return key
    return f"{key[:3]}…{key[-4:]}" if len(key) > 12 else "…" * 3


@dataclass(frozen=True)
class Endpoint:
    """A base URL and its key. `label` says where it came from (profile, env, tutor)."""

    base_url: str
    api_key: str = field(repr=False)
    label: str = "custom"
    embedded: bool = False

    def __repr__(self) -> str:
        return f"Endpoint({self.label}: {self.base_url}, key {mask_key(self.api_key)})"

    def describe(self) -> str:
        return f"{self.base_url} ({self.label}, key {mask_key(self.api_key)})"


def register_profile(
    name: str, base_url: str, *, api_key: str | None = None, api_key_env: str | None = None
) -> Endpoint:
    """Name an endpoint for `%%chat --profile NAME`; `api_key_env` keeps keys out of code."""
    key = api_key or (os.environ.get(api_key_env, "") if api_key_env else "") or "none"
    if api_key_env and not os.environ.get(api_key_env) and not api_key:
        raise ValueError(f"profile {name!r}: environment variable {api_key_env} is not set")
    endpoint = Endpoint(base_url.rstrip("/"), key, label=f"profile {name}")
    _profiles[name] = endpoint
    return endpoint


def profiles() -> dict[str, Endpoint]:
    return dict(_profiles)


def embedded_server(*, quiet: bool = False):  # type: ignore[no-untyped-def]
    """The process-wide tutor server, started on first call."""
    global _server
    with _lock:
        if _server is None or not _server.running:
            from .server import TutorServer

            _server = TutorServer().start()
            if not quiet:
                print(
                    f"nbstream: using the built-in offline tutor model at {_server.base_url} "
                    "(set OPENAI_API_KEY, and OPENAI_BASE_URL if needed, for a real endpoint)",
                    file=sys.stderr,
                )
        return _server


def stop_embedded_server() -> None:
    """Stop the embedded tutor server if it runs (the next use starts a new one)."""
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None


def resolve_endpoint(
    base_url: str | None = None, api_key: str | None = None, profile: str | None = None
) -> Endpoint:
    """Pick the endpoint by precedence (see the module docstring)."""
    if profile:
        if profile == "tutor":
            return _tutor_endpoint()
        if profile not in _profiles:
            known = ", ".join(sorted(_profiles)) or "none registered"
            raise ValueError(
                f"unknown profile {profile!r} ({known}); add one with "
                "nbstream.register_profile(name, base_url, api_key_env=...)"
            )
        chosen = _profiles[profile]
        return Endpoint(base_url or chosen.base_url, api_key or chosen.api_key, chosen.label)
    env_url = os.environ.get("OPENAI_BASE_URL")
    env_key = os.environ.get("OPENAI_API_KEY")
    if base_url or api_key or env_url or env_key:
        url = (base_url or env_url or "https://api.openai.com/v1").rstrip("/")
        key = api_key or env_key or "none"  # local servers (Ollama, vLLM) need no key
        label = "arguments" if (base_url or api_key) else "environment"
        return Endpoint(url, key, label)
    return _tutor_endpoint()


def _tutor_endpoint() -> Endpoint:
    return Endpoint(embedded_server().base_url, TUTOR_KEY, "built-in tutor", embedded=True)


def default_model(endpoint: Endpoint) -> str:
    """`tutor` on the embedded server; else `NBSTREAM_MODEL`, or a small current OpenAI model."""
    if endpoint.embedded:
        return "tutor"
    return os.environ.get("NBSTREAM_MODEL", "gpt-4.1-mini")


def sync_client(endpoint: Endpoint) -> openai.OpenAI:
    """A cached `openai.OpenAI` for the endpoint (connection reuse across cells)."""
    key = (endpoint.base_url, endpoint.api_key)
    client = _sync_clients.get(key)
    if client is None:
        client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
        _sync_clients[key] = client
    return client


def async_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    """A cached `openai.AsyncOpenAI`, one per event loop (its connections belong to the loop)."""
    import asyncio

    try:
        loop_id = id(asyncio.get_running_loop())
    except RuntimeError:
        loop_id = 0
    key = (endpoint.base_url, endpoint.api_key, loop_id)
    client = _async_clients.get(key)
    if client is None:
        client = openai.AsyncOpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
        _async_clients[key] = client
    return client
