"""The tutor's answers: hand-written Markdown for the prompts tutorials use, and honest help.

Scripted answers live as Markdown files in `answers/`, each starting with a
`<!-- match: phrase; phrase -->` line; the longest phrase found in the prompt wins. A few
answers are computed (EU member states, arithmetic, counting) because learners vary the
numbers. Everything else gets a truthful reply saying this is the offline tutor model.
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from pathlib import Path
from typing import Any

__all__ = ["EU_MEMBERS", "answer", "answer_data", "normalize"]

_ANSWERS_DIR = Path(__file__).with_name("answers")
_MATCH = re.compile(r"<!--\s*match:(.*?)-->\s*\n?", re.S)
_GREETINGS = {"hello", "hi", "hey", "hiya", "howdy", "greetings", "good morning", "good evening"}

EU_MEMBERS: tuple[tuple[str, str], ...] = (
    ("Germany", "Berlin"), ("France", "Paris"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Poland", "Warsaw"), ("Romania", "Bucharest"), ("Netherlands", "Amsterdam"),
    ("Belgium", "Brussels"), ("Czechia", "Prague"), ("Sweden", "Stockholm"),
    ("Portugal", "Lisbon"), ("Greece", "Athens"), ("Hungary", "Budapest"),
    ("Austria", "Vienna"), ("Bulgaria", "Sofia"), ("Denmark", "Copenhagen"),
    ("Finland", "Helsinki"), ("Slovakia", "Bratislava"), ("Ireland", "Dublin"),
    ("Croatia", "Zagreb"), ("Lithuania", "Vilnius"), ("Slovenia", "Ljubljana"),
    ("Latvia", "Riga"), ("Estonia", "Tallinn"), ("Cyprus", "Nicosia"),
    ("Luxembourg", "Luxembourg"), ("Malta", "Valletta"),
)  # fmt: skip


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces, for phrase matching."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@functools.cache
def _scripts() -> tuple[tuple[str, str], ...]:
    """(phrase, markdown) pairs from the answer files, longest phrase first."""
    pairs: list[tuple[str, str]] = []
    for path in sorted(_ANSWERS_DIR.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        match = _MATCH.match(text)
        if match is None:
            continue
        body = text[match.end() :].strip() + "\n"
        pairs.extend((normalize(p), body) for p in match.group(1).split(";") if normalize(p))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def _eu_count(prompt: str) -> int | None:
    match = re.search(
        r"\b(\d{1,2}|a few|some)?\s*(eu|european union)\s+(countries|members)", prompt
    )
    if match is None or not re.search(r"\b(list|name|give|which|what)\b", prompt):
        return None
    count = match.group(1)
    return min(int(count), len(EU_MEMBERS)) if count and count.isdigit() else 5


def _eu_answer(count: int) -> str:
    rows = "\n".join(
        f"{i}. **{c}** (capital: {cap})" for i, (c, cap) in enumerate(EU_MEMBERS[:count], 1)
    )
    return (
        f"Here are {count} member states of the European Union:\n\n{rows}\n\n"
        f"The EU has {len(EU_MEMBERS)} member states in total.\n"
    )


_OPS: dict[type, Any] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos,
}  # fmt: skip


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        if isinstance(node.value, bool):
            raise ValueError("not arithmetic")
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ValueError("too large")
        return _OPS[type(node.op)](left, right)  # type: ignore[no-any-return]
    raise ValueError("not arithmetic")


def _arithmetic(text: str) -> str | None:
    candidates = re.findall(r"[\d.\s()+\-*/%^x×]+", text)
    expression = max(candidates, key=len, default="").strip().rstrip("?.= ")
    if not re.search(r"\d\s*[-+*/%^x×]\s*[\d(]", expression):
        return None
    python = expression.replace("^", "**").replace("×", "*").replace("x", "*")
    try:
        value = _evaluate(ast.parse(python, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
        return None
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{expression} = **{shown}**\n"


def _count(prompt: str) -> str | None:
    match = re.search(r"\bcount (?:from 1 )?to (\d{1,4})\b", prompt)
    if match is None:
        return None
    limit = max(1, min(int(match.group(1)), 1000))
    return ", ".join(str(i) for i in range(1, limit + 1)) + ".\n"


def _greeting(prompt: str) -> str | None:
    words = prompt.split()
    if not words or len(words) > 4:
        return None
    if words[0] not in _GREETINGS and " ".join(words[:2]) not in _GREETINGS:
        return None
    return (
        "Hello! 👋 I'm **tutor**, the offline teaching model built into nbstream.\n\n"
        "Ask me to *explain quantum computing*, *list 5 EU countries* or *tell me a story*, "
        "and watch the reply stream in token by token.\n"
    )


_IDENTITY = (
    "I'm **tutor**, a small deterministic teaching model that ships with nbstream. "
    "I run on your own machine, need no API key and give the same answer to the same "
    "request every time, so notebooks and tests are reproducible.\n"
)


def fallback(prompt: str) -> str:
    """The honest reply for prompts the tutor has no scripted answer for."""
    shown = prompt if len(prompt) <= 80 else prompt[:77] + "..."
    return (
        "## I'm the offline tutor model\n\n"
        f'I have no real answer for "{shown}": I am **tutor**, nbstream\'s built-in '
        "teaching model, and I only know a handful of scripted prompts.\n\n"
        "### What I can demonstrate\n\n"
        "- Streaming token by token, with Markdown: try *Explain quantum computing*\n"
        "- Tool calls: offer a `get_weather` tool and ask *What's the weather in Berlin?*\n"
        "- JSON mode, `stop`, `max_tokens`, `n`, `logprobs` and usage counts\n"
        "- Faults such as dropped connections or rate limits (see `docs/server.md`)\n\n"
        "### Using a real model\n\n"
        "Point the client at a real endpoint instead:\n\n"
        "```bash\n"
        "export OPENAI_BASE_URL=https://api.openai.com/v1\n"
        "export OPENAI_API_KEY=sk-...\n"
        "```\n"
    )


def answer(prompt: str) -> str:
    """The Markdown reply to a user prompt: scripted, computed, or the honest fallback."""
    norm = normalize(prompt)
    count = _eu_count(norm)
    if count is not None:
        return _eu_answer(count)
    for computed in (_greeting(norm), _count(norm), _arithmetic(prompt)):
        if computed is not None:
            return computed
    if re.search(r"\b(who are you|what are you|which model|what model)\b", norm):
        return _IDENTITY
    padded = f" {norm} "
    for phrase, body in _scripts():
        if f" {phrase} " in padded:
            return body
    return fallback(prompt.strip())


def answer_data(prompt: str) -> dict[str, Any]:
    """The reply as a JSON object, for `response_format` JSON modes."""
    count = _eu_count(normalize(prompt))
    if count is not None:
        return {"countries": [{"name": c, "capital": cap} for c, cap in EU_MEMBERS[:count]]}
    return {"model": "tutor", "prompt": prompt.strip(), "answer": answer(prompt).strip()}
