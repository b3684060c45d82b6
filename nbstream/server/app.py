"""The Starlette application: routes, authentication, and one request's path to a response.

`create_app()` builds a self-contained app (its settings live on `app.state.tutor`), so
it can be served by `TutorServer` in a thread, by `uvicorn --factory`, or mounted elsewhere.
A chat request is authenticated, parsed, validated, matched to a model, given its fault and
pace specs, and only then turned into a stream or a JSON body; any refusal along the way
is an `APIError` with the real API's body.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from nbstream._version import __version__
from nbstream.recording import RecordingError
from nbstream.server.apierrors import APIError, model_not_found, status_error
from nbstream.server.completion import Completion
from nbstream.server.dialects import apply_dialect
from nbstream.server.events import digest
from nbstream.server.faults import FaultBook, FaultSpec, SpecError, merge_specs, parse_spec
from nbstream.server.models import ALIASES, TUTOR, ModelName, model_card, parse_model
from nbstream.server.openapi import openapi_document
from nbstream.server.pacing import Pace, Schedule, StreamRegistry
from nbstream.server.params import parse_body, validate_request
from nbstream.server.replay import ReplayLibrary, replay_body, replay_events
from nbstream.server.responder import JSONBodyResponse, StreamResponse, install_log_filter
from nbstream.server.tutor import compose

__all__ = ["TutorSettings", "create_app"]

FAULT_HEADER = "x-nbstream-fault"
PACE_HEADER = "x-nbstream-pace"


@dataclass
class TutorSettings:
    """Everything one server instance needs, shared by all its requests."""

    api_key: str | None = None
    pace: Pace = field(default_factory=Pace)
    accept_any_model: bool = False
    faults: FaultSpec = field(default_factory=FaultSpec)
    library: ReplayLibrary = field(default_factory=ReplayLibrary)
    book: FaultBook = field(default_factory=FaultBook)
    streams: StreamRegistry = field(default_factory=StreamRegistry)


def _check_key(request: Request, settings: TutorSettings) -> None:
    if not settings.api_key:
        return
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise APIError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if not hmac.compare_digest(auth[7:].strip().encode(), settings.api_key.encode()):
        raise APIError(
            401,
            "Incorrect API key provided. This nbstream tutor server only accepts the key it "
            "was started with (--api-key or TutorServer(api_key=...)).",
            code="invalid_api_key",
        )


def _spec(text: str | None, where: str, param: str | None) -> FaultSpec:
    try:
        return parse_spec(text)
    except SpecError as exc:
        raise APIError(400, f"Invalid {where}: {exc}.", param=param, code="invalid_value") from None


def _request_spec(request: Request, name: ModelName, settings: TutorSettings) -> FaultSpec:
    suffix = _spec(name.spec, "fault spec in the model name", "model")
    header = _spec(request.headers.get(FAULT_HEADER), f"{FAULT_HEADER} header", None)
    pace = _spec(request.headers.get(PACE_HEADER), f"{PACE_HEADER} header", None)
    if pace.has_faults or pace.dialect:
        raise APIError(400, f"Invalid {PACE_HEADER} header: only tps= and ttft= belong there.")
    return settings.book.admit(merge_specs(settings.faults, suffix, header, pace))


def _pace(spec: FaultSpec, settings: TutorSettings) -> Pace:
    tps = spec.tps if spec.tps is not None else settings.pace.tps
    ttft = spec.ttft / 1000 if spec.ttft is not None else settings.pace.ttft
    return Pace(tps or None, ttft)


async def chat_completions(request: Request) -> ASGIApp:
    settings: TutorSettings = request.app.state.tutor
    request_id = "req_" + digest(request.headers.get(FAULT_HEADER), length=24)
    try:
        _check_key(request, settings)
        body = parse_body(await request.body())
        request_id = "req_" + digest(body, request.headers.get(FAULT_HEADER), length=24)
        req = validate_request(body)
        name = parse_model(req.model)
        spec = _request_spec(request, name, settings)
        recording = settings.library.load(name.replay) if name.replay is not None else None
        if name.replay is not None and recording is None:
            raise model_not_found(name.name)
        if recording is None and not (name.known or settings.accept_any_model):
            raise model_not_found(name.name)
        if spec.status is not None:
            raise status_error(spec.status, name.name, spec.retry_after, spec.should_retry)
        if spec.error is not None and not req.stream:
            raise status_error(500, name.name)
        headers = {"x-request-id": request_id, "openai-model": name.name}
        pace = _pace(spec, settings)
        streams = settings.streams
        if recording is not None:
            if req.stream:
                schedule = Schedule(pace, spec.speed)
                return StreamResponse(replay_events(recording), schedule, spec, streams, headers)
            return JSONBodyResponse(replay_body(recording), pace.ttft, spec, streams, headers)
        completion = Completion(req, name.name, compose)
        if req.stream:
            events = apply_dialect(spec.dialect, completion.events(), completion.usage, request_id)
            per_choice = Pace(pace.tps * req.n if pace.tps else None, pace.ttft)
            return StreamResponse(events, Schedule(per_choice), spec, streams, headers)
        result = completion.body()
        generation = result["usage"]["completion_tokens"] / pace.tps / req.n if pace.tps else 0.0
        return JSONBodyResponse(result, pace.ttft + generation, spec, streams, headers)
    except APIError as exc:
        return exc.response(request_id)
    except RecordingError as exc:
        return APIError(400, f"The recording cannot be replayed: {exc}", param="model").response(
            request_id
        )


def _models(settings: TutorSettings) -> list[str]:
    return [TUTOR, *ALIASES, *(f"replay:{n}" for n in settings.library.names())]


async def list_models(request: Request) -> Response:
    settings: TutorSettings = request.app.state.tutor
    try:
        _check_key(request, settings)
    except APIError as exc:
        return exc.response()
    return JSONResponse({"object": "list", "data": [model_card(m) for m in _models(settings)]})


async def get_model(request: Request) -> Response:
    settings: TutorSettings = request.app.state.tutor
    model = request.path_params["model"]
    try:
        _check_key(request, settings)
        if model not in _models(settings) and not settings.accept_any_model:
            raise model_not_found(model)
    except APIError as exc:
        return exc.response()
    return JSONResponse(model_card(model))


async def health(request: Request) -> Response:
    settings: TutorSettings = request.app.state.tutor
    return JSONResponse({"status": "ok", "model": TUTOR, "open_streams": len(settings.streams)})


async def root(request: Request) -> Response:
    return JSONResponse(
        {
            "name": "nbstream tutor server",
            "version": __version__,
            "endpoints": ["/v1/chat/completions", "/v1/models", "/health", "/openapi.json"],
        }
    )


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(_models(request.app.state.tutor)))


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif status == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}."
    else:
        message = "The server had an error while processing your request. Sorry about that!"
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return APIError(status, message, type=kind).response()


def create_app(
    *,
    api_key: str | None = None,
    tokens_per_second: float | None = None,
    ttft_ms: float | None = None,
    accept_any_model: bool = False,
    faults: str | None = None,
    recordings_dir: str | os.PathLike[str] | None = None,
) -> Starlette:
    """Build the tutor server's ASGI app. Raises ValueError for a bad `faults` spec."""
    settings = TutorSettings(
        api_key=api_key or None,
        pace=Pace(tokens_per_second or None, (ttft_ms or 0.0) / 1000),
        accept_any_model=accept_any_model,
        faults=parse_spec(faults),
        library=ReplayLibrary(recordings_dir),
    )
    install_log_filter()
    routes = [
        Route("/", root),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", list_models),
        Route("/v1/models/{model:path}", get_model),
        Route("/health", health),
        Route("/healthz", health),
        Route("/openapi.json", openapi),
    ]
    app = Starlette(
        routes=routes, exception_handlers={HTTPException: _http_error, Exception: _http_error}
    )
    app.state.tutor = settings
    return app
