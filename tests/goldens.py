"""Load the golden SSE bodies in tests/streams/ (see _make.py there for what each shows)."""

from pathlib import Path

STREAMS = Path(__file__).parent / "streams"
NAMES = sorted(p.stem for p in STREAMS.glob("*.sse"))
COMPLETE = [n for n in NAMES if n not in ("error_midstream", "truncated")]


def golden(name: str) -> bytes:
    return (STREAMS / f"{name}.sse").read_bytes()
