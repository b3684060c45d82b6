"""How a check reports: one line per case, a summary, and an exception with no traceback noise.

The learner's function is always called through `call`, so a bug in their code becomes a
finding on that case ("your function raised KeyError: 'choices'"), while a bug in a check
itself still surfaces as an ordinary error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["ExerciseFailed", "Issues", "call", "differ", "run_cases"]

Issues = list[str]
T = TypeVar("T")
NOT_WRITTEN = "✗ not written yet: replace `raise NotImplementedError` in the answer cell"


class ExerciseFailed(AssertionError):
    """A check found mistakes; the report printed above it says which and where."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the report above is what matters.
        return [f"ExerciseFailed: {self}"]


class NotWritten(Exception):
    """The learner's function still raises NotImplementedError."""


class Raised(Exception):
    """The learner's function raised; the message says what."""


def call(function: Callable[..., T], *args: Any) -> T:
    """Call the learner's function, turning its exceptions into findings."""
    try:
        return function(*args)
    except NotImplementedError:
        raise NotWritten from None
    except Exception as exc:
        raise Raised(f"your function raised {type(exc).__name__}: {exc}") from exc


def short(value: Any, width: int = 64) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def differ(where: str, expected: Any, got: Any) -> str:
    """`where: expected X, got Y`, with long values shortened."""
    return f"{where}: expected {short(expected)}, got {short(got)}"


def not_written() -> ExerciseFailed:
    print(NOT_WRITTEN)
    return ExerciseFailed("the answer cell still raises NotImplementedError")


def run_cases(cases: Sequence[tuple[str, Callable[[], Issues]]]) -> None:
    """Run every case, print `✓ name` or `✗ name: what is wrong`, raise if any failed."""
    failed: list[str] = []
    for name, test in cases:
        try:
            issues = test()
        except NotWritten:
            raise not_written() from None
        except Raised as exc:
            issues = [str(exc)]
        if issues:
            failed.append(name)
            print(f"✗ {name}: " + "; ".join(issues[:2]))
        else:
            print(f"✓ {name}")
    if failed:
        print(f"✗ {len(failed)} of {len(cases)} checks failed")
        raise ExerciseFailed(f"{len(failed)} of {len(cases)} checks failed: {', '.join(failed)}")
    print(f"✓ all {len(cases)} checks passed")
