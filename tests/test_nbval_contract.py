"""A saved notebook with `%%chat` cells passes strict `pytest --nbval` when re-run.

nbclient runs the notebook with the tutor paced at 1500 tokens/s (many live redraws) and
saves it; nbval then re-runs every cell at full speed (few redraws) in a new kernel and
compares outputs strictly, with only `notebooks/nbval-sanitize.cfg` for the timings. A
copy with one reply altered must fail, so the comparison is known to bite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
SANITIZE = ROOT / "notebooks" / "nbval-sanitize.cfg"

SETUP = """\
import os
import nbstream
from nbstream.endpoint import embedded_server
from nbstream.server.pacing import Pace

pace = float(os.environ.get("NBSTREAM_TEST_TPS", "0")) or None
embedded_server(quiet=True).settings.pace = Pace(tps=pace)
%load_ext nbstream"""

TOOL = '''\
@nbstream.tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"18 °C and sunny in {city}"'''

GATHER = """\
import asyncio
from nbstream.display import live_achat

_ = await asyncio.gather(live_achat("/tokens 300", history=False), live_achat("Hello!", history=False))"""

CELLS = [
    SETUP,
    "%%chat\nHello!",
    "%%chat -o doc\n/tokens 2500",
    "len(doc.text), doc.usage.completion_tokens",
    "%chat What is the capital of France?",
    TOOL,
    "%%chat --tools get_weather\nWhat's the weather in Paris?",
    "%%chat -m tutor@drop=5,times=1\nExplain quantum computing",
    "%%chat --json --no-history\nList 5 EU countries as JSON",
    "%%chat -n 2 --side --no-history\nHello!",
    GATHER,
    "%chat history",
]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NBSTREAM_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_a_saved_chat_notebook_passes_strict_nbval(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    env = clean_env()
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(
        env={**env, "NBSTREAM_TEST_TPS": "1500"}, cwd=str(tmp_path)
    )
    path = tmp_path / "chat.ipynb"
    nbformat.write(nb, path)

    outputs = [cell.outputs for cell in nb.cells]
    assert all(o.get("output_type") != "error" for cell in outputs for o in cell)
    chat = outputs[2]
    assert {} in [o.data for o in chat if o.output_type == "display_data"]  # live pieces
    sealed = [o.data["text/markdown"] for o in chat if o.get("data") and "text/plain" not in o.data]
    assert len(sealed) >= 2  # more than one segment
    assert "retrying in" in "".join(o.get("text", "") for o in outputs[7])

    hello = next(o for o in nb.cells[1].outputs if o.get("data", {}).get("text/markdown"))
    hello.data["text/markdown"] = hello.data["text/markdown"].replace("tutor", "tut0r", 1)
    nbformat.write(nb, tmp_path / "altered.ipynb")

    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(path), str(tmp_path / "altered.ipynb"),
         "--nbval-sanitize-with", str(SANITIZE), "-p", "no:cacheprovider", "-q", "-c",
         str(tmp_path / "pytest.ini")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    report = result.stdout[-8000:] + result.stderr[-2000:]
    assert f"1 failed, {2 * len(CELLS) - 1} passed" in result.stdout, report
    assert "FAILED altered.ipynb::Cell 1" in result.stdout, report
