"""The chat widget: `from nbstream.widget import ChatWidget` (also `nbstream.ChatWidget`).

Needs `anywidget` (a dependency of nbstream); the message says how to get it if it is missing.
"""

from __future__ import annotations

try:
    from ._widget import ChatWidget
except ModuleNotFoundError as error:  # pragma: no cover - anywidget is a core dependency
    if error.name not in ("anywidget", "ipywidgets"):
        raise
    raise ModuleNotFoundError(
        f"nbstream.ChatWidget needs {error.name}: pip install 'anywidget>=0.9' ipywidgets",
        name=error.name,
    ) from error

__all__ = ["ChatWidget"]
