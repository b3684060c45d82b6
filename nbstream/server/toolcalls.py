"""How the tutor calls tools: which tool fits a message, its arguments, and the reply after.

The rules are simple and visible on purpose, so a learner can predict them: a tool is called
when words of its name (or a few synonyms) appear in the last user message; arguments are
filled from the message (places, tickers, numbers, enum values); several places or tickers
give parallel calls. Once tool results come back, the reply quotes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PlannedCall", "plan_tool_calls", "tool_result_reply"]

MAX_PARALLEL = 8
_STOP = frozenset((
    "get", "set", "the", "a", "an", "of", "for", "to", "in", "and", "or", "current", "tool",
    "function", "data", "info", "information", "fetch", "lookup", "look", "up", "is", "by",
    "with", "given", "return", "returns", "from", "what", "whats", "how", "me", "my", "please",
))  # fmt: skip
_SYNONYMS = {
    "weather": {"temperature", "forecast", "rain", "raining", "sunny", "snow", "degrees", "hot"},
    "stock": {"share", "shares", "ticker", "price", "quote"},
    "time": {"clock", "timezone"},
    "search": {"find", "lookup"},
}
_NOT_PLACES = frozenset((
    "What", "Whats", "How", "Is", "Are", "Tell", "Please", "Can", "Could", "Give", "Show",
    "Find", "Check", "Get", "Compare", "I", "The", "And", "Do", "Does", "Will", "Should",
    "Would", "Which", "Where", "When", "Who", "Hello", "Hi", "Hey", "Today", "Tomorrow", "Also",
    "Weather", "Temperature", "Forecast", "Price", "Stock", "Time", "Search", "Look", "Call",
))  # fmt: skip
_UNITS = frozenset(("celsius", "fahrenheit", "kelvin", "metric", "imperial"))
_PLACE_WORDS = ("location", "city", "place", "country", "town", "destination", "region", "address")
_TEXT_WORDS = ("query", "text", "expression", "input", "prompt", "topic", "question", "q")


@dataclass(frozen=True)
class PlannedCall:
    """One tool call the tutor will stream: a function name and its JSON arguments."""

    name: str
    arguments: str


def _words(text: str) -> set[str]:
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return {w.rstrip("s") or w for w in re.findall(r"[a-z0-9]+", split.lower())}


def _score(tool: Mapping[str, Any], prompt_words: set[str]) -> int:
    function = tool["function"]
    name_words = _words(function["name"]) - _STOP
    for word in list(name_words):
        name_words |= {s.rstrip("s") for s in _SYNONYMS.get(word, ())}
    described = _words(str(function.get("description") or "")) - _STOP - name_words
    strong = len(name_words & prompt_words)
    weak = len(described & prompt_words)
    return 2 * strong + weak if strong or weak >= 2 else 0


def _places(prompt: str) -> list[str]:
    found = re.findall(r"\b[A-Z][\w'À-ÿ]*(?:[ -][A-Z][\w'À-ÿ]*)*", prompt)
    places = []
    for phrase in found:
        words = phrase.split()
        while words and words[0].strip("'s") in _NOT_PLACES:
            words = words[1:]
        if words and not (len(words) == 1 and words[0].isupper() and len(words[0]) <= 5):
            places.append(" ".join(words))
    if not places:
        lower = re.findall(
            r"\b(?:in|for|at)\s+([a-z][a-z ]*?)"
            r"(?=\s+(?:in|and|for|at|today|tomorrow|now|please)\b|[?.,!]|$)",
            prompt,
        )
        places = [p.title() for p in lower]
    places = [p for p in places if p.lower() not in _UNITS]
    return list(dict.fromkeys(places))


def _tickers(prompt: str) -> list[str]:
    return list(dict.fromkeys(t for t in re.findall(r"\b[A-Z]{1,5}\b", prompt) if t != "I"))


def _value(key: str, schema: Mapping[str, Any], prompt: str, required: bool) -> Any:
    """A value for one property, or None when the message gives none and it is optional."""
    kind = schema.get("type")
    hint = f"{key} {schema.get('description', '')}".lower()
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        for option in enum:
            if str(option).lower() in prompt.lower():
                return option
        return enum[0] if required else None
    if kind in ("integer", "number"):
        numbers = re.findall(r"-?\d+(?:\.\d+)?", prompt)
        if numbers:
            return int(float(numbers[0])) if kind == "integer" else float(numbers[0])
        return schema.get("minimum", 1) if required else None
    if kind == "boolean":
        return False if required else None
    if kind == "array":
        item = _value(key, schema.get("items") or {"type": "string"}, prompt, True)
        return [item] if required else None
    if kind == "object":
        return {} if required else None
    if any(w in hint for w in ("ticker", "symbol")):
        tickers = _tickers(prompt)
        return tickers[0] if tickers else ("AAPL" if required else None)
    if any(w in hint for w in _PLACE_WORDS):
        places = _places(prompt)
        return places[0] if places else ("London" if required else None)
    if required or any(w == key.lower() for w in _TEXT_WORDS):
        return prompt.strip()
    return None


def _arguments(tool: Mapping[str, Any], prompt: str, parallel: bool) -> list[dict[str, Any]]:
    """One argument object per call: several when the message names several places/tickers."""
    params = tool["function"].get("parameters") or {}
    props: dict[str, Any] = params.get("properties") or {}
    required = set(params.get("required") or list(props)[:1])
    args: dict[str, Any] = {}
    fan_key, fan_values = None, []
    for key, schema in props.items():
        schema = schema if isinstance(schema, dict) else {}
        value = _value(key, schema, prompt, key in required)
        if value is None:
            continue
        args[key] = value
        if fan_key is None and schema.get("type", "string") == "string" and "enum" not in schema:
            hint = f"{key} {schema.get('description', '')}".lower()
            many = _tickers(prompt) if "ticker" in hint or "symbol" in hint else []
            many = many or (_places(prompt) if any(w in hint for w in _PLACE_WORDS) else [])
            if len(many) > 1:
                fan_key, fan_values = key, many
    if fan_key is None or not parallel:
        return [args]
    return [{**args, fan_key: value} for value in fan_values[:MAX_PARALLEL]]


def plan_tool_calls(
    tools: tuple[dict[str, Any], ...], choice: str, prompt: str, parallel: bool
) -> list[PlannedCall]:
    """The calls to make for `prompt`, honouring tool_choice and parallel_tool_calls."""
    if choice == "none" or not tools:
        return []
    if choice not in ("auto", "required"):
        chosen = [t for t in tools if t["function"]["name"] == choice][:1]
    else:
        words = _words(prompt)
        scored = sorted(((_score(t, words), i) for i, t in enumerate(tools)), reverse=True)
        chosen = [tools[i] for i in sorted(i for score, i in scored if score > 0)]
        if not chosen and choice == "required":
            chosen = [tools[0]]
        chosen = chosen if parallel else chosen[:1]
    calls = [
        PlannedCall(tool["function"]["name"], json.dumps(args, ensure_ascii=False))
        for tool in chosen
        for args in _arguments(tool, prompt, parallel and choice != "required")
    ]
    return calls[:MAX_PARALLEL] if parallel else calls[:1]


def _describe(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text.strip()
    if isinstance(data, dict):
        return ", ".join(f"{k}: {v}" for k, v in data.items())
    return json.dumps(data, ensure_ascii=False)


def tool_result_reply(messages: list[dict[str, Any]]) -> str | None:
    """A reply built from the tool results that end the conversation, if they do."""
    results: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, message)
    if not results:
        return None
    calls: dict[str, tuple[str, str]] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            calls[call.get("id", "")] = (
                function.get("name", "tool"),
                function.get("arguments", ""),
            )
    lines = []
    for result in results:
        name, raw_args = calls.get(result.get("tool_call_id", ""), ("tool", ""))
        try:
            parsed = json.loads(raw_args) if raw_args else {}
        except json.JSONDecodeError:
            parsed = {}
        label = (
            next((v for v in parsed.values() if isinstance(v, str)), name)
            if isinstance(parsed, dict)
            else name
        )
        lines.append(f"- **{label}** (from `{name}`): {_describe(result.get('content'))}")
    return (
        "Here is what the tools returned:\n\n" + "\n".join(lines) + "\n\n"
        "These values come straight from your tool results; I have not changed them.\n"
    )
