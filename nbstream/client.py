"""Drive a Chat Completions stream through the official openai SDK, sync or async.

`stream_chat(client, model=..., messages=...)` returns a `ChatStream`: iterate it for
renderer events, then read `.result()`. `astream_chat` is the same over `AsyncOpenAI`.

The fast path (default) asks the SDK for the raw response (`with_streaming_response`), so
the SDK still builds the request, authenticates and raises its typed status errors, but the
body is parsed by nbstream's SSE decoder straight into dicts: no pydantic object per chunk.
The final `ChatCompletion` is built once at the end. `fast=False` iterates the SDK's own
`Stream[ChatCompletionChunk]` instead.

Retrying is nbstream's (`RetryPolicy`), over the whole stream, so the SDK's own pre-stream
retries are switched off to keep one place that decides and reports.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from .errors import (
    NbstreamError,
    RetryExhaustedError,
)
from .events import (
    ChoiceFinished,
    ContentDelta,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    StreamRestarted,
    ToolCallArgumentsDelta,
)
from .failures import is_stream_options_rejection, to_nbstream_error
from .parser import ChunkHook, StreamParser
from .result import ChatResult
from .retry import RetryPolicy, describe_retry
from .splice import CONTINUE_INSTRUCTION, Splicer
from .timing import Stopwatch

__all__ = ["AsyncChatStream", "ChatStream", "astream_chat", "stream_chat"]


_TOKEN_EVENTS = (ContentDelta, RefusalDelta, ReasoningDelta, ToolCallArgumentsDelta)
_NO_STREAM_OPTIONS: set[str] = set()  # base URLs known to reject `stream_options`


class _StreamCore:
    """Everything about a stream that is not I/O: params, parsing, accumulation, timing."""

    def __init__(
        self,
        params: Mapping[str, Any],
        *,
        base_url: str,
        retry: RetryPolicy,
        on_chunk: ChunkHook | None,
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        self.params = dict(params)
        self.params["stream"] = True
        self._messages = list(self.params.get("messages") or [])
        if "stream_options" not in self.params and base_url not in _NO_STREAM_OPTIONS:
            self.params["stream_options"] = {"include_usage": True}
        self.base_url = base_url
        self.retry = retry
        self.on_chunk = on_chunk
        self.rng = rng
        self.attempt = 0
        self.retry_reasons: list[str] = []
        self.parser = StreamParser(on_chunk)
        self.watch = Stopwatch(clock)
        self.splicer: Splicer | None = None  # set while continuing a partial reply

    # -- attempts ------------------------------------------------------------------------

    def begin_attempt(self) -> None:
        self.attempt += 1
        self.parser = StreamParser(self.on_chunk)
        self.watch.restart()

    @property
    def text(self) -> str:
        """Reply text of choice 0 so far, including a continued attempt's prefix."""
        text = self.parser.acc.text
        return self.splicer.join(text) if self.splicer is not None else text

    def failure(self, exc: BaseException) -> NbstreamError:
        return to_nbstream_error(
            exc,
            base_url=self.base_url,
            model=self.params.get("model"),
            partial_text=self.text,
            chunks_received=self.parser.acc.chunk_count,
            started=self.parser.acc.chunk_count > 0,
        )

    def plan_retry(self, error: NbstreamError) -> tuple[float, StreamRestarted]:
        """Decide on a retry after `error`: the delay and the event, or raise the final error."""
        if is_stream_options_rejection(error) and "stream_options" in self.params:
            _NO_STREAM_OPTIONS.add(self.base_url)
            del self.params["stream_options"]
            self.attempt -= 1  # not the stream's fault: this try does not count
            return 0.0, StreamRestarted(self.attempt + 1, self.retry.max_attempts, "", 0.0, 0)
        delay = self.retry.next_delay(error, self.attempt, self.rng)
        if delay is None:
            if self.attempt > 1:
                raise RetryExhaustedError(
                    f"gave up after {self.attempt} attempts: {error}",
                    attempts=self.attempt,
                    last_error=error,
                    partial_text=self.text,
                ) from error
            raise error
        reason = describe_retry(error)
        self.retry_reasons.append(reason)
        keep = self._continue_from(self.text)
        event = StreamRestarted(
            self.attempt + 1,
            self.retry.max_attempts,
            reason,
            delay,
            self.parser.acc.chunk_count,
            keep=keep,
        )
        return delay, event

    def _continue_from(self, partial: str) -> bool:
        """In "continue" mode, ask the next attempt to carry on from `partial`."""
        if self.retry.mode != "continue" or not partial or self.params.get("n", 1) != 1:
            return False
        choices = self.parser.acc.completion()["choices"]
        if choices and choices[0]["message"].get("tool_calls"):
            return False
        messages = list(self._messages)
        messages += [
            {"role": "assistant", "content": partial},
            {"role": "user", "content": CONTINUE_INSTRUCTION},
        ]
        self.params["messages"] = messages
        self.splicer = Splicer(partial)
        return True

    # -- parsing -------------------------------------------------------------------------

    def feed_bytes(self, data: bytes) -> list[StreamEvent]:
        return self._timed(self.parser.feed_bytes(data))

    def feed_chunk(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        return self._timed(self.parser.feed_chunk(chunk))

    def finish_body(self) -> list[StreamEvent]:
        events = self.parser.finish()
        if self.splicer is not None:
            held = self.splicer.flush()
            if held:
                events.insert(0, ContentDelta(0, held))
        return events

    def _timed(self, events: list[StreamEvent]) -> list[StreamEvent]:
        for event in events:
            if isinstance(event, _TOKEN_EVENTS):
                self.watch.token()
        if self.splicer is not None:
            events = self._spliced(events)
        return events

    def _spliced(self, events: list[StreamEvent]) -> list[StreamEvent]:
        assert self.splicer is not None
        out: list[StreamEvent] = []
        for event in events:
            if isinstance(event, ContentDelta) and event.choice == 0:
                text = self.splicer.feed(event.text)
                if text:
                    out.append(ContentDelta(0, text))
            elif isinstance(event, ChoiceFinished) and event.choice == 0:
                held = self.splicer.flush()
                if held:
                    out.append(ContentDelta(0, held))
                out.append(event)
            else:
                out.append(event)
        return out

    # -- results -------------------------------------------------------------------------

    def result(self, *, interrupted: bool = False, error: str | None = None) -> ChatResult:
        usage = self.parser.acc.final_usage
        tokens = usage.get("completion_tokens") if usage else None
        timing = self.watch.stop(tokens if isinstance(tokens, int) else None)
        data = self.parser.acc.completion()
        if self.splicer is not None and data["choices"]:
            data["choices"][0]["message"]["content"] = self.text
        completion = ChatCompletion.construct(**data)
        return ChatResult(
            completion,
            timing,
            attempts=max(self.attempt, 1),
            interrupted=interrupted,
            error=error,
            retry_reasons=list(self.retry_reasons),
        )


def _prepare_client(client: Any, retry: RetryPolicy) -> Any:
    timeout = openai.Timeout(600.0, connect=10.0, read=retry.stall_timeout)
    return client.with_options(max_retries=0, timeout=timeout)


class _StreamBase:
    """What the sync and async streams share: set-up, the core, and the result accessors."""

    def __init__(
        self,
        client: openai.OpenAI | openai.AsyncOpenAI,
        params: Mapping[str, Any],
        *,
        retry: RetryPolicy | None = None,
        fast: bool = True,
        on_chunk: ChunkHook | None = None,
        clock: Callable[[], float] = time.perf_counter,
        rng: random.Random | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._client = _prepare_client(client, self.retry)
        self._core = _StreamCore(
            params,
            base_url=str(client.base_url),
            retry=self.retry,
            on_chunk=on_chunk,
            clock=clock,
            rng=rng,
        )
        self._fast = fast
        self._result: ChatResult | None = None

    def result(self) -> ChatResult:
        """The finished result; before the end, the partial reply marked as interrupted."""
        return self._result or self.partial_result()

    def partial_result(self, error: str | None = None) -> ChatResult:
        return self._core.result(interrupted=error is None, error=error)

    @property
    def text(self) -> str:
        """Text of choice 0 received so far (a continued attempt's prefix included)."""
        return self._core.text

    @property
    def attempt(self) -> int:
        return self._core.attempt


class ChatStream(_StreamBase):
    """A sync stream: iterate for events (retries included), then call `result()`."""

    def __init__(
        self,
        client: openai.OpenAI,
        params: Mapping[str, Any],
        *,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(client, params, **options)
        self._sleep = sleep

    def __iter__(self) -> Iterator[StreamEvent]:
        core = self._core
        while True:
            core.begin_attempt()
            try:
                yield from self._attempt()
            except Exception as exc:
                error = core.failure(exc)
                delay, event = core.plan_retry(error)
                if event.reason:
                    yield event
                if delay:
                    self._sleep(delay)
                continue
            self._result = core.result()
            return

    def _attempt(self) -> Iterator[StreamEvent]:
        core = self._core
        completions = self._client.chat.completions
        if self._fast:
            with completions.with_streaming_response.create(**core.params) as response:
                for data in response.iter_bytes():
                    events = core.feed_bytes(data)
                    if events:
                        yield from events
                    if core.parser.done:
                        break
        else:
            with completions.create(**core.params) as stream:
                for chunk in stream:
                    events = core.feed_chunk(chunk.model_dump(exclude_unset=True))
                    if events:
                        yield from events
            core.parser.done = True
        yield from core.finish_body()

    def until_done(self) -> ChatResult:
        """Consume the stream and return the result."""
        for _ in self:
            pass
        return self.result()


class AsyncChatStream(_StreamBase):
    """The same as `ChatStream` over `AsyncOpenAI`: `async for` events, then `result()`."""

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        core = self._core
        while True:
            core.begin_attempt()
            try:
                async for event in self._attempt():
                    yield event
            except Exception as exc:
                error = core.failure(exc)
                delay, event = core.plan_retry(error)
                if event.reason:
                    yield event
                if delay:
                    await asyncio.sleep(delay)
                continue
            self._result = core.result()
            return

    async def _attempt(self) -> AsyncIterator[StreamEvent]:
        core = self._core
        completions = self._client.chat.completions
        if self._fast:
            async with completions.with_streaming_response.create(**core.params) as response:
                async for data in response.iter_bytes():
                    for event in core.feed_bytes(data):
                        yield event
                    if core.parser.done:
                        break
        else:
            stream = await completions.create(**core.params)
            async with stream:
                async for chunk in stream:
                    for event in core.feed_chunk(chunk.model_dump(exclude_unset=True)):
                        yield event
            core.parser.done = True
        for event in core.finish_body():
            yield event

    async def until_done(self) -> ChatResult:
        async for _ in self:
            pass
        return self.result()


def stream_chat(client: openai.OpenAI, **params: Any) -> ChatStream:
    """Start a streamed chat completion; nbstream options go in as keywords too.

    nbstream's own keywords (`retry`, `fast`, `on_chunk`) are taken out; everything else is
    sent to `client.chat.completions.create` as is.
    """
    options = {k: params.pop(k) for k in ("retry", "fast", "on_chunk") if k in params}
    return ChatStream(client, params, **options)


def astream_chat(client: openai.AsyncOpenAI, **params: Any) -> AsyncChatStream:
    """The async twin of `stream_chat`."""
    options = {k: params.pop(k) for k in ("retry", "fast", "on_chunk") if k in params}
    return AsyncChatStream(client, params, **options)
