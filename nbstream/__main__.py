"""The `nbstream` command: a small dispatcher with one sub-command per job.

    nbstream serve [--host 127.0.0.1] [--port 0] [--api-key KEY] [--tokens-per-second R]
                   [--ttft-ms T] [--faults SPEC] [--accept-any-model] [--allow-remote]
    nbstream record -o FILE [--base-url URL] [--model M] PROMPT

Sub-commands register themselves in `COMMANDS`; each has an `add_<name>_arguments`
function and a `run_<name>` function returning the exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

__all__ = ["main"]

DEMO_TPS = 30.0
DEMO_TTFT_MS = 300.0


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--api-key", help="require this key (default: accept any or none)")
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=DEMO_TPS,
        help=f"streaming pace (default {DEMO_TPS:g}, visible in demos; 0 = as fast as possible)",
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=DEMO_TTFT_MS, help="time to first token in ms"
    )
    parser.add_argument("--faults", help="fault spec applied to every request, e.g. drop=5")
    parser.add_argument("--accept-any-model", action="store_true", help="answer any model name")
    parser.add_argument("--recordings-dir", help="extra folder that replay:<name> may read")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")


def run_serve(args: argparse.Namespace) -> int:
    from nbstream.server import RemoteHostError, TutorServer

    try:
        server = TutorServer(
            args.host,
            args.port,
            api_key=args.api_key or os.environ.get("NBSTREAM_API_KEY"),
            tokens_per_second=args.tokens_per_second or None,
            ttft_ms=args.ttft_ms,
            accept_any_model=args.accept_any_model,
            faults=args.faults,
            allow_remote=args.allow_remote,
            recordings_dir=args.recordings_dir,
        ).start()
    except (RemoteHostError, ValueError, OSError) as exc:
        print(f"nbstream serve: {exc}", file=sys.stderr)
        return 2
    key = "<your --api-key>" if server.settings.api_key else "tutor"
    print(
        f"nbstream tutor server on {server.base_url} - use it with "
        f"OPENAI_BASE_URL={server.base_url} OPENAI_API_KEY={key} (Ctrl+C stops)",
        flush=True,
    )
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    return 0


def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the user message to send")
    parser.add_argument("-o", "--output", required=True, help="recording file (.jsonl)")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="endpoint to record (default: $OPENAI_BASE_URL, else a built-in tutor server)",
    )
    parser.add_argument("--model", default="tutor", help="model name to ask for")
    parser.add_argument("--include-usage", action="store_true", help="ask for the usage chunk")
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=DEMO_TPS,
        help="pace of the built-in tutor server when no --base-url is given",
    )


def run_record(args: argparse.Namespace) -> int:
    from nbstream.server import TutorServer
    from nbstream.server.record import RecordError, record_stream

    body: dict[str, object] = {
        "model": args.model,
        "messages": [{"role": "user", "content": args.prompt}],
    }
    if args.include_usage:
        body["stream_options"] = {"include_usage": True}
    api_key = os.environ.get("OPENAI_API_KEY")
    try:
        if args.base_url:
            recording = record_stream(args.base_url, body, args.output, api_key=api_key)
        else:
            with TutorServer(tokens_per_second=args.tokens_per_second or None) as server:
                recording = record_stream(server.base_url, body, args.output)
    except (RecordError, OSError) as exc:
        print(f"nbstream record: {exc}", file=sys.stderr)
        return 1
    summary = {"file": args.output, "events": len(recording.events), "seconds": recording.duration}
    print(json.dumps(summary))
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {
    "serve": ("run the offline OpenAI-compatible tutor server", add_serve_arguments, run_serve),
    "record": ("record a streamed reply to a replayable file", add_record_arguments, run_record),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nbstream", description="nbstream command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `nbstream` console script."""
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
