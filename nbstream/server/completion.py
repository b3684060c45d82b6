"""Frame the tutor's replies as Chat Completions: streamed chunks or one JSON object.

This is section 9 of the protocol reference made concrete: the role only in each choice's
first chunk, content-only deltas, tool calls with id/type/name on their first fragment only,
a separate `delta: {}` finish chunk, choices interleaved in increasing index order, a
`choices: []` usage chunk only with include_usage, then `[DONE]`. `stop` text is held back
until it can no longer be the start of a stop sequence; `max_tokens` cuts with "length".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from nbstream.server.events import DONE, ChunkFactory, Event, digest
from nbstream.server.params import ChatRequest
from nbstream.server.tokens import count_tokens, split_tokens
from nbstream.server.tutor import Reply
from nbstream.types import COMPLETION_OBJECT

__all__ = ["Completion", "Step"]

EPOCH_2025 = 1_735_689_600
_ALTERNATIVES = (" the", " a", ",", " and", ".", " to", " of", " is", "\n", " it")


@dataclass(frozen=True, slots=True)
class Step:
    """One delta of one choice: `tokens` is 1 for content and tool fragments, 0 otherwise."""

    delta: dict[str, Any]
    tokens: int = 0
    finish_reason: str | None = None


@dataclass
class _Budget:
    limit: int | None
    used: int = 0

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters of `text` could still start a stop sequence."""
    longest = min(len(text), max(len(s) for s in stops) - 1)
    for size in range(longest, 0, -1):
        tail = text[-size:]
        if any(s.startswith(tail) for s in stops):
            return size
    return 0


def _content(
    tokens: Iterator[str], stops: tuple[str, ...], budget: _Budget
) -> Generator[str, None, str]:
    """Yield content deltas; return the finish reason ("stop" or "length")."""
    held = ""
    for token in tokens:
        text = held + token
        held = ""
        if stops:
            cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
            if cuts:
                if min(cuts) > 0:
                    if budget.exhausted:
                        return "length"
                    budget.used += 1
                    yield text[: min(cuts)]
                return "stop"
            keep = _held_back(text, stops)
            text, held = text[: len(text) - keep], text[len(text) - keep :]
        if text:
            if budget.exhausted:
                return "length"
            budget.used += 1
            yield text
    if held:
        if budget.exhausted:
            return "length"
        budget.used += 1
        yield held
    return "stop"


@dataclass
class Completion:
    """All choices of one request; iterate `events()` to stream or call `body()` for JSON."""

    req: ChatRequest
    model: str
    compose: Callable[[ChatRequest, int], Reply]
    completion_tokens: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        key = (self.req.body, self.model)
        self.id = "chatcmpl-" + digest(key, length=29)
        # Within the year after 2025-01-01, derived from the request like the id.
        self.created = EPOCH_2025 + int.from_bytes(digest(key, "created").encode()) % 31_536_000
        self.prompt_tokens = count_tokens(self.req.messages, self.req.tools)
        self.factory = ChunkFactory(
            self.id, self.created, self.model, include_usage=self.req.include_usage
        )

    def _steps(self, index: int) -> Iterator[Step]:
        reply = self.compose(self.req, index)
        budget = _Budget(self.req.max_tokens)
        if reply.tool_calls:
            yield Step({"role": "assistant", "content": None})
            finish = "stop" if self.req.named_tool else "tool_calls"
            for n, call in enumerate(reply.tool_calls):
                if budget.exhausted:
                    finish = "length"
                    break
                call_id = "call_" + digest(self.id, index, n, length=24)
                head = {"index": n, "id": call_id, "type": "function"}
                budget.used += 1
                yield Step(
                    {"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]}, 1
                )
                for piece in split_tokens(call.arguments):
                    if budget.exhausted:
                        finish = "length"
                        break
                    budget.used += 1
                    yield Step({"tool_calls": [{"index": n, "function": {"arguments": piece}}]}, 1)
            self.completion_tokens += budget.used
            yield Step({}, 0, finish)
            return
        yield Step({"role": "assistant", "content": ""})
        content = _content(reply.tokens, self.req.stop, budget)
        while True:
            try:
                yield Step({"content": next(content)}, 1)
            except StopIteration as end:
                self.completion_tokens += budget.used
                yield Step({}, 0, end.value)
                return

    def _logprobs(self, step: Step) -> dict[str, Any] | None:
        text = step.delta.get("content")
        if not self.req.logprobs or not text:
            return None
        seed = hashlib.sha256(f"{self.id}|{text}".encode()).digest()
        logprob = -round(seed[0] / 255 * 1.5, 4)
        top = [{"token": text, "logprob": logprob, "bytes": list(text.encode())}]
        for k, alt in enumerate(a for a in _ALTERNATIVES if a != text):
            if len(top) >= self.req.top_logprobs:
                break
            alt_lp = round(logprob - 0.7 - k * 0.6 - seed[k + 1] / 255, 4)
            top.append({"token": alt, "logprob": alt_lp, "bytes": list(alt.encode())})
        entry = {**top[0], "top_logprobs": top[: self.req.top_logprobs]}
        return {"content": [entry], "refusal": None}

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def events(self) -> Iterator[Event]:
        """The stream: choices round-robin, each finishing with its own `delta: {}` chunk."""
        live = [(i, self._steps(i)) for i in range(self.req.n)]
        while live:
            still = []
            for index, steps in live:
                step = next(steps, None)
                if step is None:
                    continue
                still.append((index, steps))
                choice = self.factory.choice(
                    index, step.delta, step.finish_reason, self._logprobs(step)
                )
                yield Event(self.factory.chunk([choice]), step.tokens)
            live = still
        if self.req.include_usage:
            yield Event(self.factory.chunk([], self.usage()))
        yield DONE

    def body(self) -> dict[str, Any]:
        """The non-streaming `chat.completion` object."""
        choices = []
        for index in range(self.req.n):
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
            texts: list[str] = []
            calls: list[dict[str, Any]] = []
            logprobs: list[dict[str, Any]] = []
            finish = "stop"
            for step in self._steps(index):
                finish = step.finish_reason or finish
                texts.append(step.delta.get("content") or "")
                lp = self._logprobs(step)
                logprobs.extend(lp["content"] if lp else [])
                for frag in step.delta.get("tool_calls") or []:
                    if "id" in frag:
                        calls.append(
                            {
                                "id": frag["id"],
                                "type": "function",
                                "function": dict(frag["function"]),
                            }
                        )
                    else:
                        calls[frag["index"]]["function"]["arguments"] += frag["function"][
                            "arguments"
                        ]
            if calls:
                message["tool_calls"] = calls
            else:
                message["content"] = "".join(texts)
            message["annotations"] = []
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "logprobs": {"content": logprobs, "refusal": None}
                    if self.req.logprobs
                    else None,
                    "finish_reason": finish,
                }
            )
        return {
            "id": self.id,
            "object": COMPLETION_OBJECT,
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage(),
            "service_tier": "default",
            "system_fingerprint": self.factory.fingerprint,
        }
