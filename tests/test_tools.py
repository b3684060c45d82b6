"""Tool definitions: schemas from signatures and docstrings, raw dicts, the registry."""

from __future__ import annotations

import enum
import functools
from typing import Annotated, Any, Literal, Optional

import pydantic
import pytest

import nbstream.tools as tools_module
from nbstream.errors import ToolError
from nbstream.tools import (
    Tool,
    ToolArgumentsError,
    ToolRegistry,
    clean_schema,
    parse_docstring,
    tool,
)


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Place(pydantic.BaseModel):
    """A city on a map."""

    city: str
    country: str = "FR"


class Opaque:
    """Not something pydantic can describe."""


class Node(pydantic.BaseModel):
    value: int
    children: list[Node] = []


def params(fn: Any) -> dict[str, Any]:
    return Tool.from_function(fn).parameters


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


# --- schemas, one kind of hint at a time ------------------------------------------------


def test_scalars_and_defaults() -> None:
    def f(s: str, i: int, x: float, b: bool, n: int = 3, flag: bool = False) -> None: ...

    assert params(f) == obj(
        {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "x": {"type": "number"},
            "b": {"type": "boolean"},
            "n": {"type": "integer", "default": 3},
            "flag": {"type": "boolean", "default": False},
        },
        ["s", "i", "x", "b"],
    )


def test_literal_and_enums() -> None:
    def f(mode: Literal["fast", "slow"], unit: Unit = Unit.CELSIUS, level: Level = Level.LOW): ...

    assert params(f) == obj(
        {
            "mode": {"type": "string", "enum": ["fast", "slow"]},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
            "level": {"type": "integer", "enum": [1, 2], "default": 1},
        },
        ["mode"],
    )


def test_lists_and_optionals() -> None:
    def f(
        tags: list[str],
        ids: list[int] | None = None,
        note: Optional[str] = None,  # noqa: UP045 - the old spelling must work too
        limit: int | None = None,
        kinds: list[Literal["a", "b"]] = ["a"],  # noqa: B006
    ) -> None: ...

    assert params(f) == obj(
        {
            "tags": {"type": "array", "items": {"type": "string"}},
            "ids": {
                "anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}],
                "default": None,
            },
            "note": {"type": ["string", "null"], "default": None},
            "limit": {"type": ["integer", "null"], "default": None},
            "kinds": {
                "type": "array",
                "items": {"type": "string", "enum": ["a", "b"]},
                "default": ["a"],
            },
        },
        ["tags"],
    )


class Cat(pydantic.BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(pydantic.BaseModel):
    kind: Literal["dog"]
    good: bool


Pet = Annotated[Cat | Dog, pydantic.Field(discriminator="kind")]


def test_unions_and_discriminated_unions() -> None:
    def adopt(pet: Pet, n: int | str = 1) -> None: ...

    cat = {
        "type": "object",
        "properties": {"kind": {"type": "string", "const": "cat"}, "lives": {"type": "integer"}},
        "required": ["kind", "lives"],
    }
    dog = {
        "type": "object",
        "properties": {"kind": {"type": "string", "const": "dog"}, "good": {"type": "boolean"}},
        "required": ["kind", "good"],
    }
    t = Tool.from_function(adopt)
    assert t.parameters == obj(
        {"pet": {"oneOf": [cat, dog]}, "n": {"type": ["integer", "string"], "default": 1}},
        ["pet"],
    )
    assert t.validate_arguments({"pet": {"kind": "dog", "good": True}})["pet"] == Dog(
        kind="dog", good=True
    )


def test_required_nullable_has_no_default() -> None:
    def f(when: str | None) -> None: ...

    assert params(f) == obj({"when": {"type": ["string", "null"]}}, ["when"])


def test_pydantic_model_is_inlined_without_titles() -> None:
    def f(place: Place, fallback: Place | None = None) -> None:
        """Plan a trip.

        Args:
            place: Where to go.
        """

    place = {
        "type": "object",
        "description": "A city on a map.",
        "properties": {"city": {"type": "string"}, "country": {"type": "string", "default": "FR"}},
        "required": ["city"],
    }
    assert params(f) == obj(
        {
            "place": {**place, "description": "Where to go."},
            "fallback": {"anyOf": [place, {"type": "null"}], "default": None},
        },
        ["place"],
    )


def test_recursive_model_keeps_its_definition() -> None:
    def f(tree: Node) -> None: ...

    node = {
        "type": "object",
        "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}, "default": []},
        },
        "required": ["value"],
    }
    assert params(f) == {
        **obj({"tree": {"$ref": "#/$defs/Node"}}, ["tree"]),
        "$defs": {"Node": node},
    }


def test_annotated_field_constraints_and_description() -> None:
    def f(
        days: Annotated[int, pydantic.Field(ge=1, le=7, description="How many days.")] = 3,
        city: Annotated[str, pydantic.Field(min_length=1)] = "Paris",
    ) -> None:
        """Forecast.

        Args:
            days: Loses to the Annotated description.
            city: The city.
        """

    assert params(f) == obj(
        {
            "days": {
                "type": "integer",
                "description": "How many days.",
                "default": 3,
                "maximum": 7,
                "minimum": 1,
            },
            "city": {
                "type": "string",
                "description": "The city.",
                "default": "Paris",
                "minLength": 1,
            },
        }
    )


def test_no_parameters_untyped_and_awkward_names() -> None:
    def nothing() -> None: ...

    def awkward(_x: int, schema: str, model_config: int, title: str, anything=None) -> None: ...

    assert params(nothing) == obj({})
    assert params(awkward) == obj(
        {
            "_x": {"type": "integer"},
            "schema": {"type": "string"},
            "model_config": {"type": "integer"},
            "title": {"type": "string"},
            "anything": {"default": None},
        },
        ["_x", "schema", "model_config", "title"],
    )


def test_clean_schema_only_strips_schema_titles() -> None:
    raw = {
        "title": "T",
        "type": "object",
        "properties": {"title": {"title": "Title", "type": "string", "default": {"title": "kept"}}},
    }
    assert clean_schema(raw) == {
        "type": "object",
        "properties": {"title": {"type": "string", "default": {"title": "kept"}}},
    }


# --- docstrings -------------------------------------------------------------------------


def test_google_docstring() -> None:
    def get_weather(city: str, days: int = 1) -> str:
        """Get the weather
        for a city.

        Uses a made-up service.

        Args:
            city (str): The city,
                e.g. Paris.
            days: How many days.

        Returns:
            A sentence.
        """
        return ""

    t = Tool.from_function(get_weather)
    assert t.description == "Get the weather for a city."
    assert t.parameters["properties"]["city"]["description"] == "The city, e.g. Paris."
    assert t.parameters["properties"]["days"]["description"] == "How many days."


def test_numpy_docstring() -> None:
    doc = """Move a point.

    Parameters
    ----------
    x, y : float
        The target,
        in metres.
    speed : float, optional
        How fast.

    Returns
    -------
    bool
        Whether it moved.
    """
    assert parse_docstring(doc) == (
        "Move a point.",
        {"x": "The target, in metres.", "y": "The target, in metres.", "speed": "How fast."},
    )


def test_sphinx_docstring() -> None:
    doc = """Search the index.

    :param query: What to look for,
        in plain words.
    :param int limit: At most this many.
    :type limit: int
    :returns: The hits.
    """
    assert parse_docstring(doc) == (
        "Search the index.",
        {"query": "What to look for, in plain words.", "limit": "At most this many."},
    )


def test_docstring_edge_cases() -> None:
    assert parse_docstring("") == ("", {})
    assert parse_docstring("\n    Args:\n        x: The x.\n    ") == ("", {"x": "The x."})
    assert parse_docstring("Ends with a colon:\n\nArgs:\n  x: X.") == (
        "Ends with a colon:",
        {"x": "X."},
    )


def test_explicit_name_and_description_win() -> None:
    def f() -> None:
        """Docstring summary."""

    t = Tool.from_function(f, name="renamed", description="Given.")
    assert (t.name, t.description) == ("renamed", "Given.")
    assert t.to_openai() == {
        "type": "function",
        "function": {"name": "renamed", "description": "Given.", "parameters": obj({})},
    }


# --- callables of every shape -----------------------------------------------------------


def test_methods_callable_objects_partials_positional_only() -> None:
    class Greeter:
        def __call__(self, name: str) -> str:
            return f"hi {name}"

        def shout(self, name: str) -> str:
            return name.upper()

    def repeat(text: str, times: int) -> str:
        return text * times

    def pos(a: int, b: int = 2, /, c: int = 3) -> tuple[int, int, int]:
        return (a, b, c)

    assert Tool.from_function(Greeter(), name="greet").call({"name": "x"}) == "hi x"
    assert Tool.from_function(Greeter().shout).call({"name": "x"}) == "X"
    partial = Tool.from_function(functools.partial(repeat, times=2), name="twice")
    assert partial.parameters["properties"]["times"] == {"type": "integer", "default": 2}
    t = Tool.from_function(pos)
    assert t.call(t.validate_arguments({"a": 1, "c": 5})) == (1, 2, 5)


def star_args(*args: int) -> None: ...


def star_kwargs(**kwargs: int) -> None: ...


@pytest.mark.parametrize(
    ("fn", "name", "message"),
    [
        (star_args, None, r"star_args takes \*args or \*\*kwargs"),
        (star_kwargs, None, r"star_kwargs takes \*args or \*\*kwargs"),
        (lambda x: x, None, "cannot be a tool named '<lambda>'.*pass name="),
        (star_args, "has space", "cannot be a tool named 'has space'"),
    ],
)
def test_unusable_functions_are_refused_at_registration(fn: Any, name: Any, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        ToolRegistry().register(fn, name=name)


def test_unresolvable_and_unsupported_hints() -> None:
    def uses_opaque(o: Opaque) -> None: ...

    def forward(x: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ToolError, match="cannot be described: Unable to generate"):
        Tool.from_function(uses_opaque)
    with pytest.raises(ToolError, match="cannot resolve the type hints of forward"):
        Tool.from_function(forward)
    assert Tool.from_function(lambda x: x, name="ok").parameters == obj({"x": {}}, ["x"])


# --- validation -------------------------------------------------------------------------


def test_validation_coerces_and_reports_every_problem() -> None:
    def f(city: str, days: int = 1, unit: Unit = Unit.CELSIUS, place: Place | None = None): ...

    t = Tool.from_function(f)
    values = t.validate_arguments({"city": "P", "days": "2", "unit": "f", "place": {"city": "L"}})
    assert values == {"city": "P", "days": 2, "unit": Unit.FAHRENHEIT, "place": Place(city="L")}
    with pytest.raises(ToolArgumentsError) as info:
        t.validate_arguments({"days": "x", "place": {}, "extra": 1})
    assert info.value.problems == [
        "city: field required",
        "days: input should be a valid integer, unable to parse string as an integer",
        "place.city: field required",
        "extra: extra inputs are not permitted",
    ]
    assert str(info.value).startswith("invalid arguments for f: city: field required; days:")
    with pytest.raises(ToolArgumentsError, match="must be a JSON object, got list"):
        t.validate_arguments([1])


# --- raw OpenAI dicts -------------------------------------------------------------------

RAW = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a word up.",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def test_raw_dict_round_trips_and_cannot_run() -> None:
    registry = ToolRegistry()
    t = registry.register(RAW)
    assert isinstance(t, Tool)
    assert t.to_openai() == RAW
    assert t.to_openai() is not RAW and not t.executable
    with pytest.raises(ToolError, match="cannot be executed"):
        t.call({"word": "x"})
    bare = Tool.from_openai({"name": "ping"})
    assert bare.to_openai() == {
        "type": "function",
        "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
    }


def test_raw_dict_with_a_function_validates_before_calling() -> None:
    def lookup(word: str) -> str:
        return word[::-1]

    t = Tool.from_openai(RAW, fn=lookup)
    assert t.executable and t.call(t.validate_arguments({"word": "abc"})) == "cba"
    with pytest.raises(ToolArgumentsError, match="word: input should be a valid string"):
        t.validate_arguments({"word": 3})
    loose = Tool.from_openai(RAW, fn=lambda **kw: kw)  # no signature to model: schema keys only
    assert loose.validate_arguments({"word": 3}) == {"word": 3}
    with pytest.raises(ToolArgumentsError, match="word: field required; x: extra inputs"):
        loose.validate_arguments({"x": 1})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("not a dict", "must be a function or a dict"),
        ({"type": "code_interpreter"}, "expected"),
        ({"type": "function", "function": {"name": "bad name"}}, "name must match"),
        ({"name": "x", "description": 3}, "description must be a string"),
        ({"name": "x", "parameters": {"type": "string"}}, "parameters must be"),
        ({"name": "x", "parameters": {"type": "object", "required": ["y"]}}, "required must"),
    ],
)
def test_raw_dicts_are_checked_structurally(spec: Any, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        Tool.from_openai(spec)


# --- the registry -----------------------------------------------------------------------


def test_decorator_forms() -> None:
    registry = ToolRegistry()

    @registry.register
    def plain(x: int) -> int:
        """Plain."""
        return x

    @registry.register(name="named", description="Named.")
    def other(x: int) -> int:
        return -x

    def called(x: int) -> int:
        return x * 2

    assert registry.register(called) is called
    assert plain(2) == 2 and other(2) == -2  # decorated functions stay plain functions
    assert registry.names() == ["plain", "named", "called"]
    assert registry.get("named").description == "Named."  # type: ignore[union-attr]
    assert registry.get("other") is None
    assert [t.name for t in registry] == registry.names() and len(registry) == 3
    assert "plain" in registry and called in registry and "nope" not in registry
    assert [t["function"]["name"] for t in registry.to_openai()] == registry.names()
    registry.unregister(other)  # found by identity although registered as "named"
    assert "named" not in registry and other not in registry


def test_async_detection() -> None:
    class AsyncCallable:
        async def __call__(self, x: int) -> int:
            return x

    async def coroutine_function() -> None: ...

    assert Tool.from_function(AsyncCallable(), name="obj").is_async
    assert Tool.from_function(coroutine_function).is_async
    assert Tool.from_function(functools.partial(coroutine_function), name="p").is_async
    assert not Tool.from_function(lambda: None, name="sync").is_async


def test_register_again_replaces_unregister_removes() -> None:
    registry = ToolRegistry()

    def f() -> str:
        """First."""
        return ""

    registry.register(f)
    registry.register(f, description="Second.")
    assert len(registry) == 1 and registry.get("f").description == "Second."  # type: ignore[union-attr]
    registry.unregister(f)
    assert len(registry) == 0
    with pytest.raises(ToolError, match="no tool named 'f' is registered"):
        registry.unregister("f")
    with pytest.raises(ToolError, match="cannot register int"):
        registry.register(3)  # type: ignore[call-overload]


def test_select_keeps_order_and_names_the_unknown() -> None:
    registry = ToolRegistry([Tool.from_openai({"name": n}) for n in ("a", "b", "c")])
    assert [t.name for t in registry.select(["c", "a", "c"])] == ["c", "a"]
    assert [t.name for t in registry.select("b")] == ["b"]
    with pytest.raises(ToolError, match=r"unknown tool 'zz' \(registered: a, b, c\)"):
        registry.select(["a", "zz"])
    with pytest.raises(ToolError, match="no tools registered"):
        ToolRegistry().select(["a"])


def test_module_level_tool_decorator_uses_the_default_registry() -> None:
    @tool
    def nbstream_test_tool(x: int) -> int:
        return x

    try:
        assert "nbstream_test_tool" in tools_module.tools
        assert tool.__self__ is tools_module.tools  # type: ignore[attr-defined]
    finally:
        tools_module.tools.unregister("nbstream_test_tool")
