"""`%%chat` and `%chat`: a model's reply streams live into the cell as rendered Markdown.

    %load_ext nbstream
    %%chat -m tutor --temperature 0.2
    Explain {topic} in three bullet points.

The conversation is remembered across cells (one session per kernel); `%chat history`,
`%chat reset` and `%chat config key=value ...` look at and change it. Expected failures
(no server, bad key, unknown model, a dropped stream) end the cell with one line, never a
traceback, and the partial reply stays on screen and in history.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import string
import sys
from argparse import ArgumentParser
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .display import IPythonSink, LiveReply, TextReply, run_live
from .endpoint import mask_key, resolve_endpoint
from .errors import NbstreamError
from .result import ChatResult
from .retry import RetryPolicy
from .session import REQUEST_SETTINGS, ChatSession, default_session

__all__ = ["ChatMagics", "interpolate", "load_ipython_extension", "split_options"]

USAGE = (
    "usage: put the prompt in the cell body under %%chat [options], or on the line: "
    "%chat [options] <prompt>; also %chat history | reset | config [key=value ...]; "
    "%chat? lists the options"
)
_TOKEN = re.compile(r"""\s*((?:"[^"]*"|'[^']*'|\S)+)""")
_NUMBER = re.compile(r"-\d")
_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)(?:\.\w+|\[[^\[\]{}]*\])*(?:![rsa])?(?::[^{}]*)?\}")
_SETTING = re.compile(r"^\w+=")
ENDPOINT_KEYS = ("base_url", "api_key", "profile")
RETRY_KEYS = {"attempts": "max_attempts", "retry_mode": "mode", "stall_timeout": "stall_timeout",
              "max_retry_after": "max_retry_after"}  # fmt: skip
VIEW_KEYS = ("display",)


def split_options(line: str, parser: ArgumentParser) -> tuple[list[str], str]:
    """Leading options of `line` (unquoted) and the raw rest, which is the prompt.

    Only the options are shell-split, so a prompt like `What's new?` keeps its quote.
    """
    actions = parser._option_string_actions
    tokens: list[str] = []
    pos, wants_value = 0, False
    while (match := _TOKEN.match(line, pos)) is not None:
        token = match.group(1)
        if not wants_value:
            if token == "--":
                return tokens, line[match.end() :].strip()
            name = token.split("=", 1)[0]
            if not token.startswith("-") or token == "-" or _NUMBER.match(token):
                return tokens, line[match.start(1) :].strip()
            action = actions.get(name) or actions.get(token[:2])
            if action is None:
                raise UsageError(f"unknown option {name}; %chat? lists the options")
            wants_value = action.nargs != 0 and "=" not in token and name == token
        else:
            wants_value = False
        tokens.append(_unquote(token))
        pos = match.end()
    return tokens, ""


def interpolate(prompt: str, namespace: dict[str, Any]) -> str:
    """Fill `{name}` (also `{name.attr}`, `{name[0]}`, `{name!r:>10}`) from `namespace`.

    `{{` and `}}` give literal braces. A name not in the namespace, or braces around
    something that is not a name (JSON, code), are left as they are.
    """
    formatter = string.Formatter()

    def fill(match: re.Match[str]) -> str:
        whole, name = match.group(0), match.group(1)
        if whole in ("{{", "}}"):
            return whole[0]
        if name not in namespace:
            return whole
        try:
            return formatter.vformat(whole, (), namespace)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as error:
            raise UsageError(f"cannot fill {whole} in the prompt: {error}") from error

    return _FIELD.sub(fill, prompt)


def _unquote(token: str) -> str:
    try:
        return " ".join(shlex.split(token))
    except ValueError:  # an unbalanced quote, like the apostrophe in What's
        return token


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@magics_class
class ChatMagics(Magics):
    """The `%%chat` / `%chat` magic over the kernel's `ChatSession`."""

    def __init__(self, shell: Any, session: ChatSession | None = None) -> None:
        super().__init__(shell)
        self.session = session or default_session()

    @magic_arguments()
    @argument("-m", "--model", help="model name (default: the session's, `tutor` offline)")
    @argument("-s", "--system", help="system prompt for this cell")
    @argument("-t", "--temperature", type=float, help="sampling temperature, 0 to 2")
    @argument("--max-tokens", type=int, help="cap on generated tokens")
    @argument("--stop", action="append", help="stop sequence (repeat for several)")
    @argument("--seed", type=int, help="seed, for reproducible sampling")
    @argument("-n", type=int, help="number of choices, shown one after another")
    @argument("--side", action="store_true", help="with -n: show the choices side by side")
    @argument("--tools", help="comma-separated names of registered tools the model may call")
    @argument("--confirm", action="store_true", help="ask before running each tool call")
    @argument("--attempts", type=int, help="tries in all for this cell (1 = no retry)")
    @argument(
        "--continue",
        dest="continue_",
        action="store_true",
        help="on a dropped stream, ask the model to continue the partial reply",
    )
    @argument("--json", action="store_true", help="JSON mode (response_format json_object)")
    @argument("--new", action="store_true", help="start a new conversation first")
    @argument("--no-history", action="store_true", help="one-off: no memory in or out")
    @argument("-o", "--out", metavar="NAME", help="store the ChatResult in variable NAME")
    @argument("--raw", action="store_true", help="show each chunk's JSON as it arrives")
    @argument("--no-stream", action="store_true", help="show the reply only once complete")
    @argument("--base-url", help="OpenAI-compatible endpoint for this cell")
    @argument("--profile", help="a named endpoint (nbstream.register_profile)")
    @line_cell_magic
    def chat(self, line: str, cell: str | None = None) -> None:
        """Stream a chat completion into the output area as Markdown.

        `%%chat [options]` with the prompt as the cell body, or `%chat [options] <prompt>`.
        `{name}` in the prompt is replaced by the variable's value (`{{` for a brace).
        The conversation continues across cells; `%chat history`, `%chat reset` and
        `%chat config [key=value ...]` show, clear and set the session (keys are masked).
        """
        parser = self.chat.parser
        tokens, rest = split_options(line, parser)
        args = parser.parse_args(tokens)
        if cell is None and not tokens and self._command(rest):
            return
        prompt = "\n".join(p for p in (rest, cell or "") if p.strip()).strip()
        if not prompt:
            raise UsageError(USAGE)
        shell = self.shell
        assert shell is not None
        prompt = interpolate(prompt, shell.user_ns)
        result = self._run(prompt, args)
        if args.out and result is not None:
            shell.user_ns[args.out] = result

    # -- a turn --------------------------------------------------------------------------

    def _run(self, prompt: str, args: Any) -> ChatResult | None:
        session = self.session
        if args.new:
            session.reset()
        options: dict[str, Any] = {
            "model": args.model,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "stop": args.stop,
            "seed": args.seed,
            "n": args.n,
            "json_mode": args.json,
            "history": not args.no_history,
        }
        if args.system is not None:
            options["system"] = args.system
        if args.tools:
            options["tools"] = [t.strip() for t in args.tools.split(",") if t.strip()]
        if args.raw:
            options["on_chunk"] = _print_chunk
        if args.confirm:
            options["confirm"] = _ask_before_running
        if args.attempts is not None or args.continue_:
            policy = session.retry or RetryPolicy()
            try:
                options["retry"] = policy.with_options(
                    max_attempts=args.attempts or policy.max_attempts,
                    mode="continue" if args.continue_ else policy.mode,
                )
            except ValueError as error:
                raise UsageError(f"--attempts: {error}") from error
        try:
            if args.base_url or args.profile:
                options["endpoint"] = resolve_endpoint(args.base_url, profile=args.profile)
            turn = session.turn(prompt, **options)
        except (NbstreamError, ValueError) as error:  # unknown profile or tool, bad settings
            raise UsageError(str(error)) from error
        view = self._view(args, live=not (args.raw or args.no_stream))
        try:
            return run_live(turn, view)
        except NbstreamError as error:  # the partial reply is on screen and in history
            raise UsageError(str(error)) from error

    def _view(self, args: Any, live: bool) -> LiveReply | TextReply:
        sink = IPythonSink(self.shell)
        mode = self.session.settings.get("display", "auto")
        rich = mode == "rich" or (mode == "auto" and hasattr(self.shell, "kernel"))
        if not rich:
            return TextReply(sink)
        choices = args.n or self.session.settings.get("n") or 1
        return LiveReply(sink, json_mode=args.json, live=live, choices=choices, side=args.side)

    # -- history, reset, config ----------------------------------------------------------

    def _command(self, rest: str) -> bool:
        words = rest.split()
        if words == ["history"]:
            self._history()
        elif words == ["reset"]:
            self.session.reset()
            print("nbstream: conversation cleared (settings kept)")
        elif words and words[0] == "config":
            # Never a prompt: a line that may hold a key must not be sent to a model.
            try:
                items = shlex.split(rest)[1:]
            except ValueError as error:
                raise UsageError(f"%chat config: {error}") from error
            if not all(_SETTING.match(item) for item in items):
                raise UsageError(
                    "%chat config takes key=value pairs (quote values with spaces); "
                    "to ask the model about config, use %%chat"
                )
            self._config(items)
        else:
            return False
        return True

    def _history(self) -> None:
        session = self.session
        if not session.history:
            print("nbstream: the conversation is empty")
            return
        stopped = {id(t.result) for t in session.turns if t.interrupted or t.error}
        stopped_texts = {
            t.result.text for t in session.turns if id(t.result) in stopped and t.result
        }
        for message in session.history:
            content = message.get("content") or ""
            if message.get("tool_calls"):
                calls = ", ".join(c["function"]["name"] for c in message["tool_calls"])
                content = f"(calls {calls}) {content}"
            mark = (
                " [interrupted]"
                if message["role"] == "assistant" and content in stopped_texts
                else ""
            )
            content = content if len(content) <= 300 else content[:299] + "…"
            print(f"{message['role']}{mark}: {content}")

    def _config(self, items: list[str]) -> None:
        session = self.session
        pairs = dict(item.split("=", 1) for item in items)
        endpoint_args = {k: pairs.pop(k) for k in ENDPOINT_KEYS if k in pairs}
        retry_args = {RETRY_KEYS[k]: _value(pairs.pop(k)) for k in list(pairs) if k in RETRY_KEYS}
        if retry_args:
            try:
                session.retry = (session.retry or RetryPolicy()).with_options(**retry_args)
            except (TypeError, ValueError) as error:
                raise UsageError(f"%chat config: {error}") from error
        for key, raw in pairs.items():
            if key not in (*REQUEST_SETTINGS, "system", *VIEW_KEYS):
                known = ", ".join(
                    (*REQUEST_SETTINGS, "system", *VIEW_KEYS, *ENDPOINT_KEYS, *RETRY_KEYS)
                )
                raise UsageError(f"unknown setting {key!r}; settings are: {known}")
            value = _value(raw)
            if key == "system":
                session.system = value or None
            elif value is None or value == "":
                session.settings.pop(key, None)
            else:
                session.settings[key] = value
        if endpoint_args:
            try:
                session.endpoint = resolve_endpoint(**endpoint_args)
            except ValueError as error:
                raise UsageError(str(error)) from error
        self._show_config()

    def _show_config(self) -> None:
        session = self.session
        endpoint = session.endpoint
        where = endpoint.describe() if endpoint else "(chosen at first use: env or built-in tutor)"
        rows = [("endpoint", where)]
        if endpoint is not None:
            rows.append(("api_key", mask_key(endpoint.api_key)))
        rows.append(("system", repr(session.system) if session.system else "(none)"))
        rows += [(k, repr(v)) for k, v in sorted(session.settings.items())]
        policy = session.retry or RetryPolicy()
        rows.append(("retry", f"{policy.max_attempts} attempts, {policy.mode}, "
                              f"stall {policy.stall_timeout:g} s"))  # fmt: skip
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")


def _ask_before_running(name: str, arguments: dict[str, Any]) -> bool:
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    return input(f"Run {name}({shown})? [y/N] ").strip().lower() in ("y", "yes")


def _print_chunk(chunk: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(chunk, ensure_ascii=False, separators=(",", ":")) + "\n")


_CELL = re.compile(r"\s*%%chat(?:[ \t].*)?\n?$")
_LINE = re.compile(r"%chat[ \t]+(\S.*\?)[ \t]*$")


def protect_chat_input(lines: list[str]) -> list[str]:
    """Input cleanup so IPython hands chat prompts to the magic as written.

    IPython refuses a `%%chat` cell with an empty body before the magic runs (the magic's
    own usage message is clearer), and reads a line ending in `?` as a help request,
    which would swallow `%chat What is SSE?`.
    """
    if lines and _CELL.match(lines[0]) and not "".join(lines[1:]).strip():
        return [lines[0].rstrip("\n") + "\n", " \n"]
    if lines and lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is not Python: leave it alone
    return [
        f"get_ipython().run_line_magic('chat', {m.group(1)!r})\n" if (m := _LINE.match(x)) else x
        for x in lines
    ]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nbstream`: register `%%chat` / `%chat`."""
    ipython.register_magics(ChatMagics(ipython))
    cleanup = ipython.input_transformers_cleanup
    cleanup[:] = [f for f in cleanup if getattr(f, "__name__", "") != "protect_chat_input"]
    cleanup.append(protect_chat_input)
