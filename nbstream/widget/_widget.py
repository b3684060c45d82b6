"""`ChatWidget`: a chat view over a `ChatSession`, for people who would rather chat than code.

The reply streams on the kernel's own event loop as an asyncio task, so cells keep running
while it does, and Stop simply cancels that task. Deltas go to the view as throttled custom
messages (`ReplyFeed`); the finished exchange is committed to the synced `transcript`, which
is what a re-rendered view or a reopened notebook rebuilds from (see `_protocol`).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import anywidget
import traitlets
from ipywidgets import CallbackDispatcher  # type: ignore[import-untyped]

from ..endpoint import Endpoint, default_model, sync_client
from ..result import ChatResult
from ..session import AsyncTurn, ChatSession, Turn
from ..tools import Tool
from ._feed import ReplyFeed, final_status
from ._protocol import Pending, TranscriptEntry

__all__ = ["ChatWidget"]

STATIC = Path(__file__).parent / "static"
ToolSpec = str | Tool | Callable[..., Any]
# Names a model list shows that cannot chat (embeddings, speech, images, moderation).
_NOT_CHAT = ("embed", "tts", "whisper", "dall-e", "moderation", "davinci", "babbage", "image",
             "transcribe", "audio", "realtime", "search", "computer-use")  # fmt: skip


class ChatWidget(anywidget.AnyWidget):
    """A chat transcript, an input box and a model selector, streaming from `session`.

    Args:
        session: the conversation to continue (a new `ChatSession` by default).
        system: system prompt; `tools`: tool names, `Tool`s or functions the model may call.
        model: model to start with; `models`: the selector's choices (default: the
            endpoint's `/models`).
        max_rate: most `delta` messages per second sent to the view.
        **params: widget traits (`layout`, `placeholder`); anything else is a request
            parameter for every turn (`temperature`, `extra_headers`, ...).
    """

    _esm = STATIC / "chat.js"
    _css = STATIC / "chat.css"

    transcript = traitlets.List(traitlets.Dict()).tag(sync=True)
    pending = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict({"state": "idle"}).tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    placeholder = traitlets.Unicode("Message (Enter sends, Shift+Enter new line)").tag(sync=True)

    def __init__(
        self,
        session: ChatSession | None = None,
        *,
        system: str | None = None,
        tools: Iterable[ToolSpec] = (),
        model: str | None = None,
        models: Iterable[str] | None = None,
        max_rate: float = 15.0,
        **params: Any,
    ) -> None:
        self.session = session if session is not None else ChatSession()
        if system is not None:
            self.session.system = system
        endpoint = self.session.resolved_endpoint()
        chosen = model or self.session.settings.get("model") or default_model(endpoint)
        listed = list(models) if models is not None else list_models(endpoint)
        traits = {k: params.pop(k) for k in list(params) if k in self.class_trait_names()}
        listed = listed if chosen in listed else [chosen, *listed]
        super().__init__(model=chosen, models=listed, **traits)  # layout=..., placeholder=...
        self.params: dict[str, Any] = params
        self._tools: list[str | Tool] = []
        self.tools = list(tools)
        self._interval = 1 / max_rate
        self._replies = CallbackDispatcher()
        self._task: asyncio.Task[ChatResult] | None = None
        self._feed: ReplyFeed | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._count = 0
        self._stopping = False
        self._reset_after = False
        self.on_msg(self._on_front)

    # -- the Python API -------------------------------------------------------------------------

    @property
    def system(self) -> str | None:
        """The system prompt sent before the conversation (None: none)."""
        return self.session.system

    @system.setter
    def system(self, value: str | None) -> None:
        self.session.system = value

    @property
    def tools(self) -> list[str | Tool]:
        """Tools offered on every turn: registry names or `Tool`s (functions are wrapped)."""
        return list(self._tools)

    @tools.setter
    def tools(self, value: Iterable[ToolSpec]) -> None:
        self._tools = [t if isinstance(t, str | Tool) else Tool.from_function(t) for t in value]

    def __repr__(self) -> str:
        # Stable text (no memory address), so a notebook's saved output compares under nbval.
        return f"ChatWidget(model={self.model!r}, messages={len(self.transcript)})"

    @property
    def messages(self) -> list[TranscriptEntry]:
        """A copy of the committed transcript: user and assistant entries, oldest first."""
        return copy.deepcopy(list(self.transcript))  # type: ignore[arg-type]

    @property
    def task(self) -> asyncio.Task[ChatResult] | None:
        """The streaming reply's task, while one runs on an event loop."""
        return self._task

    def on_reply(self, callback: Callable[[ChatResult], Any], *, remove: bool = False) -> None:
        """Call `callback(result)` after each reply is committed (stopped ones too)."""
        self._replies.register_callback(callback, remove=remove)

    def send(self, content: str | Mapping[str, Any], buffers: list[Any] | None = None) -> Any:
        """Send a chat message, as if typed: returns the `ChatResult` when no event loop runs
        (scripts), else schedules the reply on the running loop and returns its task.

        A dict is a custom widget message, as in `ipywidgets.Widget.send`.
        """
        if not isinstance(content, str):
            super().send(dict(content), buffers)
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_sync(content)
        return self._schedule(content)

    async def asend(self, text: str) -> ChatResult:
        """Send a message and wait for the reply; `stop()` ends it early (partial result)."""
        task = self._schedule(text)
        try:
            return await task
        except asyncio.CancelledError:
            task.cancel()
            raise

    def stop(self) -> bool:
        """Cancel the streaming reply; the partial text stays, marked as interrupted."""
        if self._task is None or self._task.done():
            return False
        self._stopping = True
        self._task.cancel()
        return True

    def new_chat(self) -> None:
        """Forget the conversation: clears the transcript and the session's history."""
        if self.stop():
            self._reset_after = True  # the cancelled turn records its partial first
            return
        self.session.reset()
        with self.hold_sync():
            self.transcript, self.pending, self.status = [], {}, {"state": "idle"}

    def close(self) -> None:
        self.stop()
        super().close()

    # -- running a turn -------------------------------------------------------------------------

    def _start(self, text: str, *, asynchronous: bool) -> tuple[Turn | AsyncTurn, ReplyFeed]:
        if self.busy:
            raise RuntimeError("a reply is still streaming: stop() it or await widget.task")
        begin = self.session.aturn if asynchronous else self.session.turn
        turn = begin(text, tools=self._tools or None, **{**self.params, "model": self.model})
        self._count += 1
        reply_id = f"r{self._count}"
        feed = ReplyFeed(reply_id, self._post, interval=self._interval)
        user: TranscriptEntry = {"id": f"{reply_id}-q", "role": "user", "content": text}
        pending: Pending = {"id": reply_id, "user": user}
        status: dict[str, Any] = {"state": "streaming", "model": self.model}
        self._feed, self._stopping = feed, False
        with self.hold_sync():
            self.pending, self.status, self.busy = {**pending}, status, True
        return turn, feed

    def _run_sync(self, text: str) -> ChatResult:
        turn, feed = self._start(text, asynchronous=False)
        assert isinstance(turn, Turn)
        try:
            for event in turn:
                feed.feed(event)
        except KeyboardInterrupt:
            self._finish(turn, feed, stopped=True)
            raise
        except Exception as error:
            self._finish(turn, feed, error=error)
            raise
        self._finish(turn, feed)
        return turn.result

    def _schedule(self, text: str) -> asyncio.Task[ChatResult]:
        turn, feed = self._start(text, asynchronous=True)
        assert isinstance(turn, AsyncTurn)
        task = asyncio.get_running_loop().create_task(self._consume(turn, feed))
        task.add_done_callback(lambda done: self._task_done(done, turn, feed))
        self._task = task
        return task

    async def _consume(self, turn: AsyncTurn, feed: ReplyFeed) -> ChatResult:
        try:
            async for event in turn:
                feed.feed(event)
                self._arm(feed)
        except asyncio.CancelledError:
            result = self._finish(turn, feed, stopped=True)
            if not self._stopping or result is None:
                raise
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()
            return result
        except Exception as error:
            self._finish(turn, feed, error=error)
            raise
        self._finish(turn, feed)
        return turn.result

    def _task_done(self, task: asyncio.Task[ChatResult], turn: AsyncTurn, feed: ReplyFeed) -> None:
        if self._task is task:
            self._task = None
        if self._feed is feed:  # cancelled before it ever ran
            self._finish(turn, feed, stopped=True)
        if not task.cancelled():
            task.exception()  # shown in the transcript; don't log it as never retrieved

    def _arm(self, feed: ReplyFeed) -> None:
        """Make sure text held back by the rate rule goes out even if the stream pauses."""
        wait = feed.wait()
        if wait is None or self._timer is not None:
            return
        self._timer = asyncio.get_running_loop().call_later(wait + 0.001, self._tick, feed)

    def _tick(self, feed: ReplyFeed) -> None:
        self._timer = None
        if self._feed is feed:
            feed.flush()

    def _finish(
        self,
        turn: Turn | AsyncTurn,
        feed: ReplyFeed,
        *,
        stopped: bool = False,
        error: BaseException | None = None,
    ) -> ChatResult | None:
        """Commit the exchange to the transcript, whatever ended it, and notify callbacks."""
        if self._feed is not feed:
            return None
        self._feed = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            result: ChatResult | None = turn.result
        except RuntimeError:
            result = None
        entry = feed.entry(result, stopped=stopped, error=error, model=self.model)
        user = self.pending.get("user") or {"id": f"{feed.id}-q", "role": "user", "content": ""}
        with self.hold_sync():
            if self._reset_after:
                self._reset_after = False
                self.session.reset()
                self.transcript, self.status = [], {"state": "idle"}
            else:
                self.transcript = [*self.transcript, user, {**entry}]
                final = final_status(result, stopped=stopped, error=error, model=self.model)
                self.status = cast("dict[str, Any]", final)
            self.pending, self.busy = {}, False
        if result is not None:
            self._replies(result)
        return result

    def _post(self, message: Mapping[str, Any]) -> None:
        super().send(dict(message))

    def _on_front(self, _widget: Any, content: Mapping[str, Any], _buffers: Any) -> None:
        kind = content.get("kind")
        if kind == "send":
            text = str(content.get("text") or "").strip()
            if text and not self.busy:
                self.send(text)
        elif kind == "stop":
            self.stop()
        elif kind == "new":
            self.new_chat()
        elif kind == "hello" and self._feed is not None:
            self._post(self._feed.snapshot())


def list_models(endpoint: Endpoint) -> list[str]:
    """The endpoint's chat models for the selector, or [] if it cannot list them."""
    try:
        page = sync_client(endpoint).with_options(timeout=5.0, max_retries=0).models.list()
        names = [m.id for m in page]
    except Exception:  # listing is a nicety: any failure leaves the current model only
        return []
    return [n for n in names if not any(word in n.lower() for word in _NOT_CHAT)]
