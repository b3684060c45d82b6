"""Imports run one way: wire types -> pure engine -> client/server -> display/widget -> magics."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "nbstream"

# Layer of each module (by dotted name under nbstream); a module may import only its own
# layer or lower ones. Unlisted modules must be added here: the test fails on them.
LAYERS: dict[str, int] = {
    "_version": 0,
    "types": 0,
    "errors": 0,
    "events": 0,
    "sse": 1,
    "accumulator": 1,
    "parser": 1,
    "timing": 1,
    "retry": 1,
    "tools": 1,
    "tool_runner": 1,
    "recording": 1,
    "throttle": 1,
    "splice": 1,
    "markdown_blocks": 1,
    "failures": 2,
    "result": 2,
    "client": 2,
    "server": 2,
    "endpoint": 3,
    "session": 3,
    "live": 4,
    "display": 4,
    "widget": 4,
    "exercises": 4,
    "magics": 5,
    "__main__": 6,
    "testing": 6,
    "__init__": 6,
}
# Third-party imports allowed per layer: the pure engine imports none.
PURE_ALLOWED = {
    "pydantic",
    "pydantic_core",
}  # tools build schemas and validate arguments with pydantic


def module_key(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    depth = len(path.relative_to(PACKAGE).parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = node.module.split(".")[0] if node.module else None
                if node.level > depth + 1:
                    continue
                if node.level == depth + 1:  # relative to the package root
                    if base:
                        found.add("nbstream." + base)
                    else:
                        found.update("nbstream." + a.name for a in node.names)
                continue
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_module_has_a_layer() -> None:
    missing = {module_key(p) for p in PACKAGE.rglob("*.py")} - set(LAYERS)
    assert not missing, f"add these modules to LAYERS in tests/test_layers.py: {missing}"


def test_imports_point_down() -> None:
    problems = []
    for path in PACKAGE.rglob("*.py"):
        key = module_key(path)
        layer = LAYERS[key]
        for name in imports_of(path):
            if name.startswith("nbstream."):
                target = name.split(".")[1]
                if target != key and LAYERS.get(target, 99) > layer:
                    problems.append(f"{path.relative_to(PACKAGE)} (layer {layer}) imports {name}")
            elif layer <= 1:
                top = name.split(".")[0]
                if top and top not in PURE_ALLOWED and not _is_stdlib(top):
                    problems.append(f"pure module {path.relative_to(PACKAGE)} imports {name}")
    assert not problems, "\n".join(problems)


def test_server_never_imports_ipython() -> None:
    for path in (PACKAGE / "server").rglob("*.py"):
        assert not any(n.split(".")[0] in ("IPython", "openai") for n in imports_of(path)), path


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"
