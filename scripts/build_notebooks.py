"""Build the teaching notebooks from `scripts/notebook_sources/` and run them to store outputs.

    python scripts/build_notebooks.py            # every notebook, learner and solution copies
    python scripts/build_notebooks.py 02 05      # only these numbers
    python scripts/build_notebooks.py --check    # build into a temporary folder, fail on drift

Each source module (`nbNN_slug.py`) defines `NOTEBOOK`. From it this script writes the
learner copy `notebooks/NN-slug.ipynb` (answer stubs, checks tagged `raises-exception`) and
the solution copy `notebooks/solutions/NN-slug.ipynb` (answers filled in), then executes
both with nbclient so the committed outputs are exactly what `pytest --nbval` compares.

The files are deterministic: cell ids are numbered, execution timing is not recorded,
stream outputs are merged, the Python version and widget state are left out, and the
notebooks talk only to a tutor server they start themselves. Measured timings (a footer's
TTFT and tokens/s) differ on every run, and nbval ignores them through
`notebooks/nbval-sanitize.cfg`; where a cell's new outputs equal the committed ones under
those rules, the committed outputs are kept. So running it twice gives identical bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "notebooks" / "nbval-sanitize.cfg"
SOURCES = Path(__file__).resolve().parent / "notebook_sources"
sys.path.insert(0, str(SOURCES))

from _cells import Cell, Notebook  # noqa: E402

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT = 180
CONTENTS = "<!-- contents -->"
ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def load_sources() -> list[Notebook]:
    """Every `NOTEBOOK` in the sources folder, in reading order."""
    notebooks = []
    for path in sorted(SOURCES.glob("nb[0-9][0-9]_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        notebooks.append(module.NOTEBOOK)
    return sorted(notebooks, key=lambda n: n.number)


def _nav(notebooks: list[Notebook], index: int) -> str:
    parts = []
    if index > 0:
        before = notebooks[index - 1]
        parts.append(f"← [{before.heading}]({before.filename})")
    if index > 1:
        parts.append(f"[{notebooks[0].heading}]({notebooks[0].filename})")
    if index + 1 < len(notebooks):
        after = notebooks[index + 1]
        parts.append(f"[{after.heading}]({after.filename}) →")
    return " | ".join(parts)


def _contents(notebooks: list[Notebook]) -> str:
    return "\n".join(
        f"{n.number}. [{n.title}]({n.filename}): {n.summary}" for n in notebooks if n.number
    )


def _opening(notebook: Notebook, solution: bool) -> str:
    text = f"# {notebook.heading}\n\n{notebook.goals.strip()}"
    if solution:
        text += (
            f"\n\n> **Solution copy.** The exercises are answered here; the learner copy is "
            f"[`notebooks/{notebook.filename}`](../{notebook.filename})."
        )
    return text


def _cells(notebooks: list[Notebook], index: int, solution: bool) -> list[Any]:
    notebook = notebooks[index]
    cells: list[Cell] = [Cell("markdown", _opening(notebook, solution))]
    if notebook.setup:
        cells.append(Cell("code", notebook.setup))
    cells += notebook.cells
    cells.append(Cell("markdown", _nav(notebooks, index)))
    made = []
    for number, cell in enumerate(cells):
        source = cell.source if solution or cell.learner is None else cell.learner
        source = source.replace(CONTENTS, _contents(notebooks))
        if cell.kind == "markdown":
            node = nbformat.v4.new_markdown_cell(source)
        else:
            node = nbformat.v4.new_code_cell(source)
            if cell.fails_for_learner and not solution:
                node.metadata["tags"] = ["raises-exception"]
            if cell.ignore_output:
                node.metadata["tags"] = ["nbval-ignore-output"]
        node.id = f"c{number:02d}"
        made.append(node)
    return made


def _coalesce(outputs: list[Any], ignored: bool) -> list[Any]:
    """Outputs as they would be on any run.

    Consecutive stream outputs are merged (how text was split into messages depends on
    timing), displays left with no data are dropped (how many live pieces a reply used
    depends on pace), widget views lose their random model id, and the output of a cell
    nbval ignores loses memory addresses.
    """
    merged: list[Any] = []
    for output in outputs:
        if output.output_type in ("display_data", "execute_result"):
            output.data.pop(WIDGET_VIEW, None)
            output.metadata = {k: v for k, v in output.metadata.items() if k != WIDGET_VIEW}
            if not output.data and output.output_type == "display_data":
                continue
            if ignored and "text/plain" in output.data:
                output.data["text/plain"] = ADDRESS.sub("", output.data["text/plain"])
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
            continue
        merged.append(output)
    return merged


def _normalize(nb: Any) -> None:
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            ignored = "nbval-ignore-output" in cell.metadata.get("tags", [])
            cell.outputs = _coalesce(cell.outputs, ignored)


def _sanitized(outputs: list[Any], patterns: list[tuple[str, str]]) -> str:
    text = json.dumps(outputs, sort_keys=True, ensure_ascii=False)
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def _keep_stable(nb: Any, committed: Path, patterns: list[tuple[str, str]]) -> None:
    """Keep the committed outputs of cells whose new outputs differ only where nbval's
    sanitize rules say they may (timings): a rebuild then changes no byte needlessly."""
    if not committed.exists():
        return
    old = {c.id: c for c in nbformat.read(committed, as_version=4).cells}
    for cell in nb.cells:
        before = old.get(cell.id)
        if cell.cell_type != "code" or before is None or before.source != cell.source:
            continue
        if _sanitized(cell.outputs, patterns) == _sanitized(before.outputs, patterns):
            cell.outputs = before.outputs


def _execute(nb: Any, folder: Path) -> None:
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()


def build(notebooks: list[Notebook], numbers: set[int], out: Path, execute: bool) -> list[Path]:
    """Write (and run) the chosen notebooks under `out`; return the files written."""
    committed_root = ROOT / "notebooks"
    patterns = get_sanitize_patterns(SANITIZE.read_text()) if SANITIZE.exists() else []
    written = []
    for index, notebook in enumerate(notebooks):
        if numbers and notebook.number not in numbers:
            continue
        for solution in (False, True):
            folder = out / "solutions" if solution else out
            folder.mkdir(parents=True, exist_ok=True)
            nb = nbformat.v4.new_notebook()
            nb.cells = _cells(notebooks, index, solution)
            started = time.perf_counter()
            if execute:
                _execute(nb, folder)
            _normalize(nb)
            path = folder / notebook.filename
            _keep_stable(nb, committed_root / path.relative_to(out), patterns)
            nbformat.validate(nb)
            nbformat.write(nb, path)
            elapsed = time.perf_counter() - started
            print(f"wrote {path.relative_to(out.parent)} ({elapsed:.1f} s)", flush=True)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", type=int, help="notebook numbers (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write cells only")
    parser.add_argument(
        "--check", action="store_true", help="build in a temporary folder and compare"
    )
    args = parser.parse_args(argv)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NBSTREAM_MODEL"):
        os.environ.pop(name, None)  # the notebooks must never reach a real endpoint here
    notebooks = load_sources()
    numbers = set(args.numbers)
    if not args.check:
        build(notebooks, numbers, ROOT / "notebooks", not args.no_execute)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build(notebooks, numbers, Path(tmp) / "notebooks", True)
        stale = []
        for path in fresh:
            committed = ROOT / "notebooks" / path.relative_to(Path(tmp) / "notebooks")
            if not committed.exists() or not filecmp.cmp(path, committed, shallow=False):
                stale.append(str(committed.relative_to(ROOT)))
    if stale:
        print("out of date (run python scripts/build_notebooks.py):", *stale, sep="\n  ")
        return 1
    print("notebooks are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
