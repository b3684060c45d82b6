"""nbstream: stream chat completions live into Jupyter, and learn how streaming works.

`%load_ext nbstream` adds the `%%chat` magic. Under it: a stream engine (`StreamAccumulator`,
`stream_chat`), a retry policy, tools, and a built-in OpenAI-compatible teaching server.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .accumulator import StreamAccumulator
from .client import AsyncChatStream, ChatStream, astream_chat, stream_chat
from .endpoint import register_profile
from .errors import (
    EndpointError,
    MalformedStreamError,
    NbstreamError,
    RetryExhaustedError,
    ServerStreamError,
    StreamDroppedError,
    StreamError,
    ToolError,
    TruncatedStreamError,
)
from .parser import StreamParser, parse_stream
from .result import ChatResult
from .retry import RetryPolicy
from .session import ChatSession, achat, chat
from .tools import ToolRegistry, tool

__all__ = [
    "AsyncChatStream",
    "ChatResult",
    "ChatSession",
    "ChatStream",
    "ChatWidget",
    "EndpointError",
    "MalformedStreamError",
    "NbstreamError",
    "RetryExhaustedError",
    "RetryPolicy",
    "ServerStreamError",
    "StreamAccumulator",
    "StreamDroppedError",
    "StreamError",
    "StreamParser",
    "ToolError",
    "ToolRegistry",
    "TruncatedStreamError",
    "__version__",
    "achat",
    "astream_chat",
    "chat",
    "live_achat",
    "load_ipython_extension",
    "parse_stream",
    "register_profile",
    "stream_chat",
    "tool",
]


def __getattr__(name: str) -> Any:
    # The widget pulls in ipywidgets and anywidget: import it only when asked for.
    if name == "ChatWidget":
        from .widget import ChatWidget

        return ChatWidget
    if name == "live_achat":  # display code imports IPython: only when asked for
        from .display import live_achat

        return live_achat
    raise AttributeError(f"module 'nbstream' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nbstream`: registers the `%%chat` magic (imported only here)."""
    from .magics import load_ipython_extension as load

    load(ipython)
