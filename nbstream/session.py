"""A conversation: memory across turns, default settings, and the tool-calling loop.

`ChatSession.turn(prompt)` streams one user turn. When the model calls registered tools, the
turn runs them, sends the results back as `tool` messages in call order, and streams again,
until the model answers in text (or `max_rounds` is reached). Iterating a turn yields the
stream events of every round plus `RoundStarted` and `ToolResult`; `turn.result` is the last
round's `ChatResult`. The magic, the widget and `nbstream.chat()` all run turns.

History keeps exactly what was sent and received, including a partial reply when a turn is
interrupted or fails; `session.turns` says which turns ended that way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .client import ChunkHook, astream_chat, stream_chat
from .endpoint import Endpoint, async_client, default_model, resolve_endpoint, sync_client
from .errors import NbstreamError
from .events import StreamEvent
from .result import ChatResult
from .retry import RetryPolicy
from .tool_runner import (
    DEFAULT_MAX_ROUNDS,
    DEFAULT_TIMEOUT,
    RoundLimitError,
    ToolCallRequest,
    ToolOutcome,
    arun_tool_calls,
    run_tool_calls,
)
from .tools import Tool, ToolRegistry
from .tools import tools as default_registry

__all__ = ["ChatSession", "RoundStarted", "ToolResult", "Turn", "TurnRecord", "achat", "chat"]

REQUEST_SETTINGS = ("model", "temperature", "top_p", "max_tokens", "stop", "seed", "n")


@dataclass(frozen=True, slots=True)
class RoundStarted:
    """A new request of the tool loop begins (round 1 is the user's prompt)."""

    round: int


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool call ran (or was refused); `outcome.content` went back to the model."""

    outcome: ToolOutcome


TurnEvent = StreamEvent | RoundStarted | ToolResult


@dataclass
class TurnRecord:
    """One turn in the session's log: what was asked and how it ended."""

    prompt: str
    result: ChatResult | None = None
    interrupted: bool = False
    error: str | None = None
    rounds: int = 0


@dataclass
class ChatSession:
    """Conversation memory and defaults, shared by the magic, the widget and `chat()`."""

    endpoint: Endpoint | None = None
    system: str | None = None
    retry: RetryPolicy | None = None
    registry: ToolRegistry = field(default_factory=lambda: default_registry)
    max_rounds: int = DEFAULT_MAX_ROUNDS
    tool_timeout: float | None = DEFAULT_TIMEOUT
    confirm: Callable[[str, dict[str, Any]], bool] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)

    def reset(self) -> None:
        """Forget the conversation (settings stay)."""
        self.history.clear()
        self.turns.clear()

    def resolved_endpoint(self) -> Endpoint:
        if self.endpoint is None:
            self.endpoint = resolve_endpoint()
        return self.endpoint

    def request(
        self,
        prompt: str,
        *,
        history: bool = True,
        system: str | None = None,
        tools: Iterable[str | Tool] | None = None,
        json_mode: bool = False,
        endpoint: Endpoint | None = None,
        **params: Any,
    ) -> tuple[Endpoint, list[dict[str, Any]], dict[str, Any], list[Tool]]:
        """Messages, request parameters and tools for one turn, with defaults filled in."""
        endpoint = endpoint or self.resolved_endpoint()
        merged = {k: v for k, v in self.settings.items() if k in REQUEST_SETTINGS}
        merged.update({k: v for k, v in params.items() if v is not None})
        merged.setdefault("model", default_model(endpoint))
        messages: list[dict[str, Any]] = []
        system = system if system is not None else self.system
        if system:
            messages.append({"role": "system", "content": system})
        if history:
            messages += [m for m in self.history if m.get("role") != "system"]
        messages.append({"role": "user", "content": prompt})
        selected = [t if isinstance(t, Tool) else self._tool(t) for t in tools or ()]
        if selected:
            merged["tools"] = [t.to_openai() for t in selected]
        if json_mode:
            merged["response_format"] = {"type": "json_object"}
        return endpoint, messages, merged, selected

    def _tool(self, name: str) -> Tool:
        (tool,) = self.registry.select([name])
        return tool

    def turn(self, prompt: str, *, history: bool = True, **kwargs: Any) -> Turn:
        """Stream one turn (sync). See `request` for the keywords; also `retry`,
        `confirm` and `on_chunk` for this turn only."""
        return Turn(self, prompt, history, **self._turn_options(prompt, history, kwargs))

    def aturn(self, prompt: str, *, history: bool = True, **kwargs: Any) -> AsyncTurn:
        """Stream one turn over `AsyncOpenAI`: `async for event in session.aturn(...)`."""
        return AsyncTurn(self, prompt, history, **self._turn_options(prompt, history, kwargs))

    def _turn_options(self, prompt: str, history: bool, kwargs: dict[str, Any]) -> dict[str, Any]:
        extras = {k: kwargs.pop(k, None) for k in ("on_chunk", "retry", "confirm")}
        endpoint, messages, params, tools = self.request(prompt, history=history, **kwargs)
        return {"endpoint": endpoint, "messages": messages, "params": params, "tools": tools,
                **extras}  # fmt: skip

    def chat(self, prompt: str, **kwargs: Any) -> ChatResult:
        """Run a turn to the end and return its result."""
        turn = self.turn(prompt, **kwargs)
        for _ in turn:
            pass
        return turn.result

    async def achat(self, prompt: str, **kwargs: Any) -> ChatResult:
        turn = self.aturn(prompt, **kwargs)
        async for _ in turn:
            pass
        return turn.result


class _TurnBase:
    def __init__(
        self,
        session: ChatSession,
        prompt: str,
        remember: bool,
        *,
        endpoint: Endpoint,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        tools: list[Tool],
        on_chunk: ChunkHook | None = None,
        retry: RetryPolicy | None = None,
        confirm: Callable[[str, dict[str, Any]], bool] | None = None,
    ) -> None:
        self.retry = retry or session.retry
        self.confirm = confirm or session.confirm
        self.session = session
        self.prompt = prompt
        self.endpoint = endpoint
        self.messages = messages
        self.params = params
        self.tools = tools
        self.remember = remember
        self.on_chunk = on_chunk
        self.rounds: list[ChatResult] = []
        self._stream: Any = None
        self._result: ChatResult | None = None
        self._start = len(messages) - 1  # index of the user message

    @property
    def result(self) -> ChatResult:
        if self._result is None:
            raise RuntimeError("the turn has not finished: iterate it first")
        return self._result

    def _stream_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"messages": self.messages, **self.params}
        if self.retry is not None:
            options["retry"] = self.retry
        if self.on_chunk is not None:
            options["on_chunk"] = self.on_chunk
        return options

    def _after_round(self, result: ChatResult) -> list[ToolCallRequest]:
        """Record a finished round; the tool calls to run next (none ends the turn)."""
        self.rounds.append(result)
        calls = result.tool_calls if self.tools else []
        if not calls:
            self._finish(result)
            return []
        if len(self.rounds) >= self.session.max_rounds:
            raise RoundLimitError(self.session.max_rounds, [c.function.name for c in calls])
        self.messages.append(result.assistant_message())
        return [ToolCallRequest.from_openai(call, i) for i, call in enumerate(calls)]

    def _add_outcomes(self, outcomes: list[ToolOutcome]) -> None:
        self.messages.extend(outcome.to_message() for outcome in outcomes)

    def _finish(self, result: ChatResult) -> None:
        self._result = result
        if result.completion.choices:
            self.messages.append(result.assistant_message())
        self._remember(TurnRecord(self.prompt, result, rounds=len(self.rounds)))

    def partial(self, error: BaseException | None = None) -> ChatResult:
        """The reply so far, for a stopped (error None) or failed turn; recorded in history."""
        if self._result is not None:
            return self._result
        text = str(error) if error is not None else None
        result = self._stream.partial_result(text) if self._stream is not None else None
        if result is not None and result.completion.choices:
            self.messages.append({"role": "assistant", "content": result.text})
        self._result = result
        self._remember(
            TurnRecord(
                self.prompt, result, interrupted=error is None, error=text, rounds=len(self.rounds)
            )
        )
        if result is None:
            raise RuntimeError("the turn ended before any request was made") from error
        return result

    def _remember(self, record: TurnRecord) -> None:
        if self.remember:
            self.session.history.extend(self.messages[self._start :])
        self.session.turns.append(record)


class Turn(_TurnBase):
    """One user turn, sync: iterate for events, then read `.result`."""

    def __iter__(self) -> Iterator[TurnEvent]:
        client = sync_client(self.endpoint)
        try:
            for number in range(1, self.session.max_rounds + 1):
                yield RoundStarted(number)
                self._stream = stream_chat(client, **self._stream_options())
                yield from self._stream
                calls = self._after_round(self._stream.result())
                if not calls:
                    return
                outcomes = run_tool_calls(
                    calls,
                    self.tools,
                    timeout=self.session.tool_timeout,
                    confirm=self.confirm,
                )
                for outcome in outcomes:
                    yield ToolResult(outcome)
                self._add_outcomes(outcomes)
        except (KeyboardInterrupt, GeneratorExit):
            self.partial(None)
            raise
        except NbstreamError as error:
            self.partial(error)
            raise


class AsyncTurn(_TurnBase):
    """One user turn over `AsyncOpenAI`: `async for` events, then read `.result`."""

    async def __aiter__(self) -> AsyncIterator[TurnEvent]:
        import asyncio

        client = async_client(self.endpoint)
        try:
            for number in range(1, self.session.max_rounds + 1):
                yield RoundStarted(number)
                self._stream = astream_chat(client, **self._stream_options())
                async for event in self._stream:
                    yield event
                calls = self._after_round(self._stream.result())
                if not calls:
                    return
                outcomes = await arun_tool_calls(
                    calls,
                    self.tools,
                    timeout=self.session.tool_timeout,
                    confirm=self.confirm,
                )
                for outcome in outcomes:
                    yield ToolResult(outcome)
                self._add_outcomes(outcomes)
        except (asyncio.CancelledError, GeneratorExit):
            self.partial(None)
            raise
        except NbstreamError as error:
            self.partial(error)
            raise


_default: ChatSession | None = None


def default_session() -> ChatSession:
    """The kernel's session: the one `%%chat` and `nbstream.chat()` share."""
    global _default
    if _default is None:
        _default = ChatSession()
    return _default


def chat(prompt: str, **kwargs: Any) -> ChatResult:
    """Stream a reply on the default session and return it (no display)."""
    return default_session().chat(prompt, **kwargs)


async def achat(prompt: str, **kwargs: Any) -> ChatResult:
    """The async twin of `chat`; several can run at once."""
    return await default_session().achat(prompt, **kwargs)
