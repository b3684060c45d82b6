"""Run one round of the model's tool calls and turn the results into `tool` messages.

The client's loop calls `run_tool_calls` (or `arun_tool_calls`) once per round, appends
`tool_messages(outcomes)` and asks the model again, at most `DEFAULT_MAX_ROUNDS` times.
Everything that can go wrong on the model's side (unknown tool, malformed JSON, invalid
arguments, an exception, a timeout, a declined confirmation) becomes a short `Error: ...`
result the model can read and correct. Nothing here raises for it, and nothing the model
sends is eval'd: arguments go through `json.loads` and the tool's pydantic validation only.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pydantic
from pydantic_core import to_jsonable_python

from nbstream.errors import ToolError
from nbstream.tools import Tool, ToolArgumentsError, ToolRegistry
from nbstream.types import ChatMessage, FunctionCall, ToolCall

T = TypeVar("T")
ErrorKind = Literal[
    "unknown_tool", "malformed_json", "invalid_arguments", "raised", "timeout", "declined",
    "not_executable",
]  # fmt: skip
Confirm = Callable[[str, dict[str, Any]], bool | Awaitable[bool]]
Tools = ToolRegistry | Iterable[Tool] | Mapping[str, Tool]

DEFAULT_MAX_ROUNDS = 8
DEFAULT_TIMEOUT = 30.0


class RoundLimitError(ToolError):
    """The model kept asking for tools for `max_rounds` rounds without replying in text."""

    def __init__(self, max_rounds: int, last_tools: Sequence[str] = ()) -> None:
        last = f" (last round: {', '.join(last_tools)})" if last_tools else ""
        super().__init__(
            f"stopped after {max_rounds} rounds of tool calls without a text reply{last}; "
            f"pass max_rounds={max_rounds * 2} to allow more, or check what the tools return"
        )
        self.max_rounds = max_rounds
        self.last_tools = list(last_tools)


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """One accumulated tool call: `arguments` is the raw JSON text the model streamed."""

    id: str
    name: str
    arguments: str = ""
    index: int = 0

    @classmethod
    def from_openai(cls, call: Mapping[str, Any] | Any, index: int = 0) -> ToolCallRequest:
        """Read a wire dict, an SDK tool-call object or a flat `ToolCallDone`-like object."""
        get: Callable[[str], Any] = (
            call.get if isinstance(call, Mapping) else lambda key: getattr(call, key, None)
        )
        function = get("function")
        fget: Callable[[str], Any] = get
        if isinstance(function, Mapping):
            fget = function.get
        elif function is not None:
            fget = lambda key: getattr(function, key, None)  # noqa: E731
        return cls(
            id=str(get("id") or ""),
            name=str(fget("name") or ""),
            arguments=_as_text(fget("arguments")),
            index=wire_index if isinstance(wire_index := get("index"), int) else index,
        )

    def to_openai(self) -> ToolCall:
        """The entry for the assistant message's `tool_calls` list."""
        function: FunctionCall = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What happened to one call; `content` is exactly what the model will read."""

    call_id: str
    name: str
    ok: bool
    content: str
    error: ErrorKind | None = None
    duration_s: float = 0.0
    arguments: dict[str, Any] | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def to_message(self) -> ChatMessage:
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}

    def summary(self, width: int = 80) -> str:
        """One line for the notebook: what ran, with what, and how it went."""
        args = ", ".join(f"{k}={v!r}" for k, v in (self.arguments or {}).items())
        text = f"{self.name}({args}) -> {self.content}" if self.ok else self.content
        text = text if len(text) <= width else text[: width - 1] + "…"
        return f"{'✓' if self.ok else '✗'} {text} [{self.duration_s:.2f} s]"


def tool_messages(outcomes: Iterable[ToolOutcome]) -> list[ChatMessage]:
    """The `tool` messages to append after the assistant message, in call order."""
    return [outcome.to_message() for outcome in outcomes]


@dataclass
class _Job:
    call: ToolCallRequest
    tool: Tool | None = None
    arguments: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)
    outcome: ToolOutcome | None = None

    def fail(self, kind: ErrorKind, message: str, **extra: Any) -> None:
        self.outcome = ToolOutcome(self.call.id, self.call.name, False, f"Error: {message}", kind,
                                   arguments=self.arguments, **extra)  # fmt: skip


def run_tool_calls(
    calls: Iterable[ToolCallRequest | Mapping[str, Any]],
    tools: Tools,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    confirm: Confirm | None = None,
) -> list[ToolOutcome]:
    """Run one round of calls from synchronous code (a notebook cell), in call order.

    `confirm` is asked in this thread. Sync tools run one after another in a helper thread so
    `timeout` holds (a timed-out one is abandoned, not killed); with `timeout=None` they run
    right here, which suits thread-bound objects such as sqlite connections. Async tools run
    concurrently on a private loop, in a worker thread when a loop is already running here.
    """
    jobs = _prepare(calls, tools)
    for job in _ready(jobs):
        _confirm_here(confirm, job)
    if timeout is None:
        for job in _ready(jobs):
            if not job.tool.is_async:  # type: ignore[union-attr]
                job.outcome = _run_here(job)
    if _ready(jobs):
        _run_coroutine(_execute_all(jobs, timeout))
    return [job.outcome for job in jobs]  # type: ignore[misc]


async def arun_tool_calls(
    calls: Iterable[ToolCallRequest | Mapping[str, Any]],
    tools: Tools,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    confirm: Confirm | None = None,
) -> list[ToolOutcome]:
    """Run one round of calls from async code: sync tools one by one in a helper thread,
    async tools concurrently, each under its own `timeout`."""
    jobs = _prepare(calls, tools)
    for job in _ready(jobs):
        await _confirm_async(confirm, job)
    await _execute_all(jobs, timeout)
    return [job.outcome for job in jobs]  # type: ignore[misc]


def _prepare(calls: Iterable[ToolCallRequest | Mapping[str, Any]], tools: Tools) -> list[_Job]:
    if isinstance(tools, ToolRegistry):
        registry = tools
    else:
        registry = ToolRegistry(tools.values() if isinstance(tools, Mapping) else tools)
    jobs = []
    for i, raw in enumerate(calls):
        call = raw if isinstance(raw, ToolCallRequest) else ToolCallRequest.from_openai(raw, i)
        job = _Job(call, registry.get(call.name))
        jobs.append(job)
        if job.tool is None:
            known = ", ".join(registry.names()) or "none"
            job.fail("unknown_tool", f"unknown tool {call.name!r}. Available tools: {known}.")
            continue
        text = call.arguments.strip() if isinstance(call.arguments, str) else ""
        try:
            decoded = json.loads(text) if text else {}
        except (ValueError, RecursionError) as exc:
            reason = exc if isinstance(exc, ValueError) else "nested too deeply"
            message = f"the arguments for {call.name} are not valid JSON: {reason}."
            job.fail("malformed_json", f"{message} Send one JSON object.")
            continue
        decoded = {} if decoded is None else decoded
        job.arguments = decoded if isinstance(decoded, dict) else None
        if not job.tool.executable:
            job.fail("not_executable", f"{call.name} has no Python function here and cannot run.")
            continue
        try:
            job.values = job.tool.validate_arguments(decoded)
        except ToolArgumentsError as exc:
            job.fail("invalid_arguments", str(exc), exception=exc)
        except Exception as exc:  # a user validator that raised something unusual
            message = f"invalid arguments for {call.name}: {exc}"
            job.fail("invalid_arguments", message, exception=exc)
    return jobs


def _as_text(arguments: object) -> str:
    """Some servers send arguments already decoded: re-encode them, never guess further."""
    if arguments is None or isinstance(arguments, str):
        return arguments or ""
    return json.dumps(arguments, default=str)


def _ready(jobs: list[_Job]) -> list[_Job]:
    return [job for job in jobs if job.outcome is None]


def _record_answer(job: _Job, answer: object) -> None:
    if isinstance(answer, Exception):
        reason = f"asking for confirmation failed ({answer!r})"
        job.fail("declined", f"{job.call.name} was not run: {reason}.", exception=answer)
    elif not answer:
        message = f"the user declined to run {job.call.name}; do not retry unless asked."
        job.fail("declined", message)


def _confirm_here(confirm: Confirm | None, job: _Job) -> None:
    if confirm is None:
        return
    try:
        answer: object = confirm(job.call.name, dict(job.arguments or {}))
        if inspect.isawaitable(answer):
            answer = _run_coroutine(_awaited(answer))
    except Exception as exc:
        answer = exc
    _record_answer(job, answer)


async def _confirm_async(confirm: Confirm | None, job: _Job) -> None:
    if confirm is None:
        return
    try:
        answer: object = confirm(job.call.name, dict(job.arguments or {}))
        if inspect.isawaitable(answer):
            answer = await answer
    except Exception as exc:
        answer = exc
    _record_answer(job, answer)


def _run_here(job: _Job) -> ToolOutcome:
    start = time.perf_counter()
    try:
        result = job.tool.call(job.values)  # type: ignore[union-attr]
        if inspect.isawaitable(result):
            result = _run_coroutine(_awaited(result))
        return _finish(job, start, _encode(result), None)
    except (Exception, SystemExit) as exc:
        return _finish(job, start, None, exc)


async def _execute_all(jobs: list[_Job], timeout: float | None) -> None:
    ready = _ready(jobs)

    async def one(job: _Job) -> None:
        job.outcome = await _execute(job, timeout)

    async def in_order() -> None:
        for job in ready:
            if not job.tool.is_async:  # type: ignore[union-attr]
                await one(job)

    await asyncio.gather(in_order(), *(one(j) for j in ready if j.tool.is_async))  # type: ignore[union-attr]


async def _execute(job: _Job, timeout: float | None) -> ToolOutcome:
    tool = job.tool
    assert tool is not None

    async def attempt() -> tuple[str | None, BaseException | None]:
        try:
            if tool.is_async:
                result = await tool.call(job.values)
            else:
                result = await _thread_future(lambda: tool.call(job.values), tool.name)
            if inspect.isawaitable(result):
                result = await result
            return _encode(result), None
        except (Exception, SystemExit) as exc:
            return None, exc

    start = time.perf_counter()
    try:
        content, error = await asyncio.wait_for(attempt(), timeout)
    except asyncio.TimeoutError:
        job.fail("timeout", f"{tool.name} did not finish within {timeout:g} s.",
                 duration_s=time.perf_counter() - start)  # fmt: skip
        return job.outcome  # type: ignore[return-value]
    return _finish(job, start, content, error)


def _finish(job: _Job, start: float, content: str | None, exc: BaseException | None) -> ToolOutcome:
    duration = time.perf_counter() - start
    if exc is None:
        call = job.call
        return ToolOutcome(call.id, call.name, True, content or "", None, duration, job.arguments)
    detail = f": {str(exc)[:500]}" if str(exc) else ""
    message = f"{job.call.name} raised {type(exc).__name__}{detail}"
    job.fail("raised", message, duration_s=duration, exception=exc)
    return job.outcome  # type: ignore[return-value]


def _encode(result: Any) -> str:
    """Strings go as they are, pydantic models as their JSON, anything else as JSON."""
    if isinstance(result, str):
        return result
    if isinstance(result, pydantic.BaseModel):
        return result.model_dump_json()
    try:
        return json.dumps(to_jsonable_python(result, fallback=str), ensure_ascii=False)
    except (TypeError, ValueError):  # circular structures and other oddities
        return str(result)


def _thread_future(fn: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Run `fn` in a daemon thread; unlike `to_thread`, a hung tool never blocks loop shutdown."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():  # abandoned after a timeout
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def target() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = fn()
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(settle, value, error)

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target,), name=f"nbstream-tool-{name}")
    thread.daemon = True
    thread.start()
    return future


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, even inside Jupyter's running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    pool = ThreadPoolExecutor(1, thread_name_prefix="nbstream-tools")
    try:
        return pool.submit(asyncio.run, coro).result()
    finally:
        pool.shutdown(wait=False)
