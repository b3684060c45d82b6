"""Validate `tools` and `tool_choice`, the part of a request with the most ways to be wrong.

Kept apart from `params.py` because tool schemas have their own rules (name pattern,
object-typed parameters, a named choice that must exist) and their own error wording.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nbstream.server.apierrors import bad_request, invalid_type, missing_parameter

__all__ = ["validate_tool_choice", "validate_tools"]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _schema_problem(params: Any) -> str | None:
    """What is wrong with a function's parameter schema, if anything."""
    if params is None:
        return None
    if not isinstance(params, dict) or params.get("type", "object") != "object":
        return "schema must be a JSON Schema of 'type: \"object\"'"
    props = params.get("properties", {})
    if not isinstance(props, dict) or not all(isinstance(p, dict) for p in props.values()):
        return "'properties' must be an object mapping names to schemas"
    required = params.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        return "'required' must be an array of property names"
    for key, prop in props.items():
        items = prop.get("items")
        if items is not None and not isinstance(items, dict):
            return f"'items' of property '{key}' must be a schema object"
    return None


def validate_tools(tools: Any) -> tuple[dict[str, Any], ...]:
    """Check `tools`: function tools with valid names and object schemas."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise invalid_type(where, "an object", tool)
        if tool.get("type") != "function":
            raise bad_request(
                f"Invalid value: {json.dumps(tool.get('type'))}. Supported values are: 'function'.",
                f"{where}.type",
            )
        function = tool.get("function")
        if not isinstance(function, dict):
            raise missing_parameter(f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise bad_request(
                f"Invalid '{where}.function.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]+$' (at most 64 characters).",
                f"{where}.function.name",
                "invalid_value",
            )
        problem = _schema_problem(function.get("parameters"))
        if problem:
            raise bad_request(
                f"Invalid schema for function '{name}': {problem}.",
                f"{where}.function.parameters",
                "invalid_function_parameters",
            )
    return tuple(tools)


def validate_tool_choice(choice: Any, tools: tuple[dict[str, Any], ...]) -> str:
    """Normalise `tool_choice` to "none", "auto", "required" or a function name."""
    if choice is None:
        return "auto" if tools else "none"
    if not tools and choice != "none":
        raise bad_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            "tool_choice",
            None,
        )
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise bad_request(
                f"Invalid value: {json.dumps(choice)}. Supported values are: 'none', 'auto', "
                "and 'required'.",
                "tool_choice",
            )
        return choice
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise invalid_type("tool_choice", "a string or a function object", choice)
    if name not in {t["function"]["name"] for t in tools}:
        raise bad_request(
            f"Invalid value for 'tool_choice': no function named '{name}' was specified in "
            "the 'tools' parameter.",
            "tool_choice",
            None,
        )
    return name
