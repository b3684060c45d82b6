"""The fault spec: one small grammar for everything a request can ask to go wrong.

The same string works in three places: the `x-nbstream-fault` header, after `@` in the
model name (`tutor@drop=5,times=1`), and for a whole server (`TutorServer(faults=...)`,
`nbstream serve --faults`). Items are comma-separated `key=value` pairs or flags::

    drop=K              abort the connection after K chunks (incomplete chunked body)
    stall=T [after=K]   send nothing for T seconds after K chunks, then continue
    status=429|500|503  refuse with the real error body; retry_after=S, should_retry=0|1
    error=K             after K chunks send data: {"error": ...} and close; retryable=1
    no_done             end the body without data: [DONE]
    dialect=NAME        vllm, ollama, litellm, azure, llamacpp or groq (see dialects.py)
    times=N             the faults hit only the first N requests with this exact spec
    id=TEXT             ignored, except that it makes the spec (and so its counter) unique
    tps=R, ttft=MS      pacing for this request; speed=X for replays

Pacing items also come from the `x-nbstream-pace` header (`tps=50,ttft=200`).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["DIALECTS", "FaultBook", "FaultSpec", "SpecError", "merge_specs", "parse_spec"]

DIALECTS = ("vllm", "ollama", "litellm", "azure", "llamacpp", "groq")
STATUSES = (429, 500, 503)
MAX_STALL = 600.0


class SpecError(ValueError):
    """A fault or pace spec that does not parse; the message says which item and why."""


@dataclass(frozen=True)
class FaultSpec:
    """A parsed spec. `None` means "not asked for"; `raw` is the counter key for `times`."""

    drop: int | None = None
    stall: float | None = None
    after: int = 0
    status: int | None = None
    retry_after: float | None = None
    should_retry: bool | None = None
    error: int | None = None
    retryable: bool = False
    no_done: bool = False
    dialect: str | None = None
    times: int | None = None
    tps: float | None = None
    ttft: float | None = None
    speed: float | None = None
    raw: str = ""

    @property
    def has_faults(self) -> bool:
        """True when something should go wrong (pacing and dialects are not faults)."""
        return any(
            (self.drop is not None, self.stall, self.status, self.error is not None, self.no_done)
        )

    def without_faults(self) -> FaultSpec:
        """The same spec after `times` ran out: dialect and pacing stay."""
        return FaultSpec(dialect=self.dialect, tps=self.tps, ttft=self.ttft, speed=self.speed)


def _number(key: str, value: str, *, integer: bool, low: float, high: float) -> float:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SpecError(f"{key}={value!r}: expected {kind}") from None
    if not low <= number <= high:
        raise SpecError(f"{key}={value!r}: must be between {low:g} and {high:g}")
    return number


def _flag(key: str, value: str) -> bool:
    if value.lower() in ("", "1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise SpecError(f"{key}={value!r}: expected 1 or 0")


def _item(key: str, value: str) -> tuple[str, Any]:
    ints = {"drop": 1_000_000, "after": 1_000_000, "error": 1_000_000, "times": 1_000_000}
    if key in ints:
        return key, int(_number(key, value, integer=True, low=0, high=ints[key]))
    if key in ("stall", "retry_after"):
        return key, _number(key, value, integer=False, low=0, high=MAX_STALL)
    if key in ("tps", "speed"):
        return key, _number(key, value, integer=False, low=0, high=1_000_000)
    if key == "ttft":
        return key, _number(key, value, integer=False, low=0, high=MAX_STALL * 1000)
    if key == "status":
        status = int(_number(key, value, integer=True, low=100, high=599))
        if status not in STATUSES:
            raise SpecError(f"status={value}: supported statuses are 429, 500 and 503")
        return key, status
    if key in ("retryable", "no_done", "should_retry"):
        return key, _flag(key, value)
    if key == "dialect":
        if value.lower() not in DIALECTS:
            raise SpecError(f"dialect={value!r}: choose one of {', '.join(DIALECTS)}")
        return key, value.lower()
    if key == "id":
        return key, value
    raise SpecError(f"unknown item {key!r}")


def parse_spec(text: str | None) -> FaultSpec:
    """Parse `drop=5,times=1`-style text; an empty or missing spec means no faults."""
    text = (text or "").strip()
    values: dict[str, Any] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, has_value, value = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not has_value and key not in ("no_done", "retryable", "should_retry"):
            raise SpecError(f"item {key!r} needs a value, like {key}=1")
        name, parsed = _item(key, value.strip())
        values[name] = parsed
    values.pop("id", None)
    if "after" in values and "stall" not in values:
        raise SpecError("after=K only goes with stall=T")
    if ("retry_after" in values or "should_retry" in values) and "status" not in values:
        raise SpecError("retry_after and should_retry only go with status=")
    return FaultSpec(raw=text, **values)


def merge_specs(*specs: FaultSpec) -> FaultSpec:
    """Combine server, model-suffix and header specs; later ones win item by item."""
    merged: dict[str, Any] = {}
    defaults = FaultSpec()
    for spec in specs:
        for f in dataclasses.fields(spec):
            value = getattr(spec, f.name)
            if f.name != "raw" and value != getattr(defaults, f.name):
                merged[f.name] = value
    raw = " | ".join(s.raw for s in specs if s.raw)
    return FaultSpec(raw=raw, **merged)


class FaultBook:
    """Counts requests per exact spec string, so `times=N` faults only the first N."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, spec: FaultSpec) -> FaultSpec:
        """Return the spec to apply to this request, counting it against `times`."""
        if spec.times is None or not spec.has_faults:
            return spec
        with self._lock:
            seen = self._seen.get(spec.raw, 0) + 1
            self._seen[spec.raw] = seen
        return spec if seen <= spec.times else spec.without_faults()
