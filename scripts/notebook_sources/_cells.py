"""The little language the notebook sources are written in: cells as Python data.

One source makes two notebooks: the learner copy (`notebooks/NN-slug.ipynb`), whose answer
cells hold a stub and whose check cells are expected to fail, and the solution copy
(`notebooks/solutions/NN-slug.ipynb`), whose answers are filled in and pass their checks.
Writing both from one source means they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent
from typing import Literal

__all__ = ["SETUP", "Cell", "Notebook", "answer", "check", "code", "md"]

# The one setup cell every notebook opens with (00-index explains each line).
SETUP = """\
import os, openai, nbstream
from nbstream.server import TutorServer

tutor = TutorServer(tokens_per_second=250, ttft_ms=100).start()  # the offline teaching model
os.environ.update(OPENAI_BASE_URL=tutor.base_url, OPENAI_API_KEY="tutor", NBSTREAM_MODEL="tutor")
client = openai.OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY, like any OpenAI code"""


@dataclass(frozen=True)
class Cell:
    """One cell; `learner` replaces the source in the learner copy (answer cells)."""

    kind: Literal["markdown", "code"]
    source: str
    learner: str | None = None
    fails_for_learner: bool = False
    ignore_output: bool = False


def _clean(text: str) -> str:
    return dedent(text).strip("\n").rstrip()


def md(text: str) -> Cell:
    """A Markdown cell: say what to notice before the code that shows it."""
    return Cell("markdown", _clean(text))


def code(text: str, *, ignore_output: bool = False) -> Cell:
    """A code cell: one idea, a few lines. `ignore_output`: nbval runs it but cannot compare
    its output (tagged `nbval-ignore-output`); only for output that cannot be made stable."""
    return Cell("code", _clean(text), ignore_output=ignore_output)


def answer(solution: str, learner: str) -> Cell:
    """An exercise's answer cell: the stub for learners, the worked answer for solutions."""
    return Cell("code", _clean(solution), learner=_clean(learner))


def check(text: str) -> Cell:
    """An exercise's check cell: fails (by design) in the learner copy until it is solved."""
    return Cell("code", _clean(text), fails_for_learner=True)


@dataclass(frozen=True)
class Notebook:
    """A notebook: `NN-slug.ipynb`, opened by a title, goals and the setup cell."""

    number: int
    slug: str
    title: str
    summary: str
    goals: str
    cells: list[Cell] = field(default_factory=list)
    setup: str = SETUP

    @property
    def filename(self) -> str:
        return f"{self.number:02d}-{self.slug}.ipynb"

    @property
    def heading(self) -> str:
        return f"{self.number:02d} · {self.title}"
