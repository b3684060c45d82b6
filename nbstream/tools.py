"""Tools: plain Python functions the model may call, described by a JSON schema.

The schema comes from the signature (through a pydantic model, so str, int, float, bool,
Literal, Enum, lists, Optional, defaults, pydantic models and `Annotated[..., Field()]` all
work) and from the docstring (first paragraph, plus Google, NumPy or Sphinx parameter
descriptions). The same pydantic model later validates the model's arguments, so nothing
reaches a function unchecked. Raw OpenAI tool dicts are accepted too; without a callable
they are advertised to the model but never executed.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, get_origin, get_type_hints, overload

import pydantic

from nbstream.errors import ToolError

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolArgumentsError(ToolError):
    """The model's arguments do not match the tool's schema; `problems` lists each one."""

    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(f"invalid arguments for {tool}: {'; '.join(problems)}")
        self.problems = problems


@dataclass(frozen=True)
class Tool:
    """One callable tool: what the model is told (`to_openai`) and what runs (`fn`)."""

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any] | None = None
    strict: bool | None = None
    _model: type[pydantic.BaseModel] | None = field(default=None, repr=False, compare=False)
    _positional: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], name: str | None = None, description: str | None = None
    ) -> Tool:
        """Describe `fn` from its signature, type hints and docstring."""
        tool_name = name or str(getattr(fn, "__name__", ""))
        _check_name(tool_name, fn)
        summary, param_docs = parse_docstring(inspect.getdoc(fn) or "")
        model, schema, positional = _signature_model(fn, tool_name, param_docs)
        return cls(
            name=tool_name,
            description=summary if description is None else description,
            parameters=schema,
            fn=fn,
            _model=model,
            _positional=positional,
        )

    @classmethod
    def from_openai(cls, spec: Mapping[str, Any], fn: Callable[..., Any] | None = None) -> Tool:
        """Accept `{"type": "function", "function": {...}}` (or the bare function object).

        With `fn`, arguments are validated against `fn`'s signature when it has one pydantic
        can model, else only against the schema's `required` keys.
        """
        if not isinstance(spec, Mapping):
            raise ToolError(f"a tool must be a function or a dict, got {type(spec).__name__}")
        if "function" in spec or "type" in spec:
            if spec.get("type") != "function" or not isinstance(spec.get("function"), Mapping):
                raise ToolError('invalid tool dict: expected {"type": "function", "function": {}}')
            spec = spec["function"]
        name, desc = spec.get("name"), spec.get("description", "")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ToolError(f"invalid tool dict: name must match {_NAME.pattern}, got {name!r}")
        if not isinstance(desc, str):
            raise ToolError(f"invalid tool dict {name}: description must be a string")
        params = copy.deepcopy(dict(spec.get("parameters") or {"type": "object", "properties": {}}))
        props, required = params.get("properties", {}), params.get("required", [])
        if params.get("type") != "object" or not isinstance(props, Mapping):
            raise ToolError(f'invalid tool dict {name}: parameters must be {{"type": "object"}}')
        if not isinstance(required, list) or any(r not in props for r in required):
            raise ToolError(f"invalid tool dict {name}: required must list names in properties")
        model: type[pydantic.BaseModel] | None = None
        positional: tuple[str, ...] = ()
        if fn is not None:
            with contextlib.suppress(ToolError):
                model, _, positional = _signature_model(fn, name, {})
        strict = spec.get("strict")
        return cls(name, desc, params, fn, strict if isinstance(strict, bool) else None, model,
                   positional)  # fmt: skip

    @property
    def executable(self) -> bool:
        """False for raw dict tools without a callable: the model may ask, nothing runs."""
        return self.fn is not None

    @property
    def is_async(self) -> bool:
        """True for `async def` functions and objects with an `async def __call__`."""
        call = getattr(self.fn, "__call__", None)  # noqa: B004 - the method itself is wanted
        return inspect.iscoroutinefunction(self.fn) or inspect.iscoroutinefunction(call)

    def to_openai(self) -> dict[str, Any]:
        """The entry for a request's `tools` list."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = copy.deepcopy(self.parameters)
        if self.strict is not None:
            function["strict"] = self.strict
        return {"type": "function", "function": function}

    def validate_arguments(self, arguments: Any) -> dict[str, Any]:
        """Check decoded JSON arguments and return the keyword values to call `fn` with."""
        if not isinstance(arguments, Mapping):
            kind = type(arguments).__name__
            raise ToolArgumentsError(self.name, [f"arguments must be a JSON object, got {kind}"])
        if self._model is None:
            return _check_required(self.name, self.parameters, dict(arguments))
        try:
            inst = self._model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            raise ToolArgumentsError(self.name, [_problem(e) for e in exc.errors()]) from None
        fields = type(inst).model_fields
        return {info.alias or key: getattr(inst, key) for key, info in fields.items()}

    def call(self, arguments: Mapping[str, Any]) -> Any:
        """Call `fn` with validated arguments (returns a coroutine for async functions)."""
        if self.fn is None:
            raise ToolError(f"tool {self.name} has no Python function and cannot be executed")
        kwargs, args = dict(arguments), []
        for pname in self._positional:
            if pname not in kwargs:
                break
            args.append(kwargs.pop(pname))
        return self.fn(*args, **kwargs)


class ToolRegistry:
    """The set of tools a conversation may use; only registered functions can ever run."""

    def __init__(self, tools: Iterable[Callable[..., Any] | Mapping[str, Any] | Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.register(item)

    @overload
    def register(
        self, fn_or_dict: F, *, name: str | None = ..., description: str | None = ...
    ) -> F: ...
    @overload
    def register(self, fn_or_dict: Mapping[str, Any] | Tool, *, name: str | None = ...,
                 description: str | None = ...) -> Tool: ...  # fmt: skip
    @overload
    def register(self, fn_or_dict: None = ..., *, name: str | None = ...,
                 description: str | None = ...) -> Callable[[F], F]: ...  # fmt: skip
    def register(
        self,
        fn_or_dict: Callable[..., Any] | Mapping[str, Any] | Tool | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Any:
        """Add a tool; as a decorator (bare or with options) it returns the function unchanged.

        Registering a name again replaces the old tool, so re-running a notebook cell works.
        """
        if fn_or_dict is None:
            return lambda fn: self.register(fn, name=name, description=description)
        if isinstance(fn_or_dict, Tool):
            tool = fn_or_dict
        elif isinstance(fn_or_dict, Mapping):
            tool = Tool.from_openai(fn_or_dict)
        elif callable(fn_or_dict):
            tool = Tool.from_function(fn_or_dict, name=name, description=description)
        else:
            raise ToolError(f"cannot register {type(fn_or_dict).__name__} as a tool")
        self._tools[tool.name] = tool
        return fn_or_dict if callable(fn_or_dict) and not isinstance(fn_or_dict, Tool) else tool

    def unregister(self, name: str | Callable[..., Any]) -> None:
        """Remove a tool by name (or by the function registered under its own name)."""
        key = self._key(name)
        if self._tools.pop(key, None) is None:
            raise ToolError(f"no tool named {key!r} is registered ({self._listing()})")

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def select(self, names: Iterable[str]) -> list[Tool]:
        """The named tools in the given order; an unknown name is a `ToolError`."""
        chosen: dict[str, Tool] = {}
        for tname in [names] if isinstance(names, str) else names:
            if tname not in self._tools:
                raise ToolError(f"unknown tool {tname!r} ({self._listing()})")
            chosen[tname] = self._tools[tname]
        return list(chosen.values())

    def to_openai(self) -> list[dict[str, Any]]:
        return [t.to_openai() for t in self._tools.values()]

    def _key(self, item: object) -> str:
        """A name, or the name a function was registered under (even a custom one)."""
        if isinstance(item, str):
            return item
        found = [name for name, t in self._tools.items() if t.fn is item]
        return found[0] if found else str(getattr(item, "__name__", ""))

    def _listing(self) -> str:
        return f"registered: {', '.join(self._tools)}" if self._tools else "no tools registered"

    def __contains__(self, item: object) -> bool:
        return self._key(item) in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names()!r})"


tools = ToolRegistry()
tool = tools.register


_PARAM_SECTIONS = {"Args", "Arguments", "Parameters", "Params", "Keyword Args", "Other Parameters"}
_SECTIONS = {*_PARAM_SECTIONS, "Returns", "Return", "Raises", "Yields", "Examples", "Notes", "Note"}
_SPHINX = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:\s*(.*)$"
)
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_DASHES = re.compile(r"^\s*-{3,}\s*$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its first paragraph and per-parameter descriptions.

    Reads Google (`Args:`), NumPy (`Parameters` + dashes) and Sphinx (`:param x:`) styles.
    """
    lines = [*inspect.cleandoc(doc).splitlines(), ""]
    summary: list[str] = []
    for i, line in enumerate(lines[:-1]):
        text = line.strip()
        if not text or text.startswith(":") or text.rstrip(":") in _SECTIONS:
            break
        if _DASHES.match(lines[i + 1]):
            break
        summary.append(text)
    params: dict[str, str] = {}
    mode, current, entry_indent = "", [], -1
    for i, line in enumerate(lines[:-1]):
        text, indent = line.strip(), len(line) - len(line.lstrip())
        if not text or _DASHES.match(line):
            continue
        if sphinx := _SPHINX.match(text):
            mode, current, entry_indent = "sphinx", [sphinx[1]], indent
            params[sphinx[1]] = sphinx[2]
            continue
        if indent == 0 and (_DASHES.match(lines[i + 1]) or text.endswith(":") or text[0] == ":"):
            section = text.rstrip(":")
            mode = ("numpy" if text == section else "google") if section in _PARAM_SECTIONS else ""
            current, entry_indent = [], -1
            continue
        if mode == "google" and indent > 0:
            entry_indent = indent if entry_indent < 0 else entry_indent
            if indent == entry_indent and (entry := _GOOGLE_ENTRY.match(text)):
                current, params[entry[1]] = [entry[1]], entry[2]
                continue
        elif mode == "numpy" and indent == 0:
            current = [n.strip().lstrip("*") for n in text.split(":")[0].split(",")]
            params.update(dict.fromkeys(current, ""))
            continue
        elif indent == 0 or (mode == "sphinx" and indent <= entry_indent):
            mode, current = "", []
        for pname in current:
            params[pname] = f"{params[pname]} {text}".strip()
    return " ".join(summary), params


def _check_name(name: str, fn: object) -> None:
    if not _NAME.match(name):
        raise ToolError(
            f"{fn!r} cannot be a tool named {name!r}: names need 1-64 letters, digits, _ or -;"
            " pass name=..."
        )


def _has_description(annotation: Any) -> bool:
    metadata = getattr(annotation, "__metadata__", ())
    return get_origin(annotation) is Annotated and any(
        getattr(m, "description", None) for m in metadata
    )


def _signature_model(
    fn: Callable[..., Any], name: str, docs: Mapping[str, str]
) -> tuple[type[pydantic.BaseModel], dict[str, Any], tuple[str, ...]]:
    """A pydantic model whose fields are `fn`'s parameters (aliased, so any name works)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"cannot read the signature of {name}: {exc}") from None
    target = fn.func if isinstance(fn, functools.partial) else fn
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target).__call__  # a callable object: read its __call__ hints
    try:
        hints = get_type_hints(target, include_extras=True)
    except NameError as exc:
        raise ToolError(f"cannot resolve the type hints of {name}: {exc}") from None
    except TypeError:
        hints = {}
    fields: dict[str, Any] = {}
    positional = []
    for i, param in enumerate(sig.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolError(
                f"{name} takes *args or **kwargs, which cannot be described to the model;"
                " declare each argument"
            )
        if param.kind is param.POSITIONAL_ONLY:
            positional.append(param.name)
        annotation = hints.get(param.name, Any)
        extra: dict[str, Any] = {}
        if param.name in docs and not _has_description(annotation):
            extra["description"] = docs[param.name]
        default = ... if param.default is param.empty else param.default
        fields[f"p{i}"] = (annotation, pydantic.Field(default, alias=param.name, **extra))
    try:
        config = pydantic.ConfigDict(extra="forbid")
        model = pydantic.create_model(name, __config__=config, **fields)
        schema = clean_schema(model.model_json_schema())
    except pydantic.PydanticUserError as exc:
        reason = str(exc).split(". ")[0]  # pydantic's first sentence names the type
        raise ToolError(f"the parameter types of {name} cannot be described: {reason}") from None
    return model, schema, tuple(positional)


_SUB = {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
_SUB_LISTS = {"anyOf", "allOf", "oneOf", "prefixItems"}
_SUB_MAPS = {"properties", "patternProperties"}
_ORDER = ["type", "description", "enum", "items", "properties", "required", "additionalProperties"]
_RANK = {key: i for i, key in enumerate(_ORDER)}
_REF = re.compile(r"#/\$defs/([^\"]+)")


def clean_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Make a pydantic schema read as if written by hand.

    Drops `title`s, inlines `$defs` (keeping only recursive ones) and folds
    `anyOf: [{type: X}, {type: null}]` into `type: [X, "null"]`.
    """
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    edges = {key: set(_REF.findall(json.dumps(d))) for key, d in defs.items()}

    def reaches(start: str) -> bool:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for ref in edges.get(todo.pop(), set()) - seen:
                seen.add(ref)
                todo.append(ref)
        return start in seen

    recursive = {key for key in defs if reaches(key)}

    def walk(node: Any) -> Any:
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/") and ref[8:] in defs and ref[8:] not in recursive:
            return {**walk(defs[ref[8:]]), **walk({k: v for k, v in node.items() if k != "$ref"})}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "$defs", "discriminator"):  # noise, or refs into inlined $defs
                continue
            if key in _SUB:
                value = walk(value)
            elif key in _SUB_LISTS and isinstance(value, list):
                value = [walk(v) for v in value]
            elif key in _SUB_MAPS and isinstance(value, Mapping):
                value = {n: walk(v) for n, v in value.items()}
            out[key] = value
        options = out.get("anyOf")
        if options and all(list(o) == ["type"] and isinstance(o["type"], str) for o in options):
            out["type"] = [o["type"] for o in out.pop("anyOf")]
        return dict(sorted(out.items(), key=lambda kv: _RANK.get(kv[0], len(_RANK))))

    result: dict[str, Any] = walk(schema)
    if recursive:
        result["$defs"] = {key: walk(defs[key]) for key in sorted(recursive)}
    return result


def _problem(error: Mapping[str, Any]) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()))
    msg = str(error.get("msg", "invalid value"))
    msg = msg[:1].lower() + msg[1:]
    return f"{loc}: {msg}" if loc else msg


def _check_required(
    name: str, schema: Mapping[str, Any], arguments: dict[str, Any]
) -> dict[str, Any]:
    problems = [
        f"{key}: field required" for key in schema.get("required", []) if key not in arguments
    ]
    if schema.get("additionalProperties") is False:
        known = schema.get("properties", {})
        problems += [
            f"{key}: extra inputs are not permitted" for key in arguments if key not in known
        ]
    if problems:
        raise ToolArgumentsError(name, problems)
    return arguments
