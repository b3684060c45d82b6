"""The OpenAPI document served at `/openapi.json`, written by hand to stay small and exact.

It describes what this server really accepts (the subset of the Chat Completions API the
tutor honours) plus its own extensions: the fault and pace headers and the model suffixes.
"""

from __future__ import annotations

from typing import Any

from nbstream._version import __version__

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def _error_responses(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad request",
        401: "Wrong or missing API key",
        404: "Unknown model",
        429: "Injected rate limit",
        500: "Injected server error",
        503: "Injected overload",
    }
    return {
        str(s): {"description": text[s], "content": {"application/json": {"schema": _ERROR}}}
        for s in statuses
    }


def _request_schema(models: list[str]) -> dict[str, Any]:
    integer = {"type": "integer"}
    return {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": {
                "type": "string",
                "description": "A model name, optionally followed by '@' and a fault spec.",
                "examples": models[:3],
            },
            "messages": {"type": "array", "minItems": 1, "items": {"type": "object"}},
            "stream": {"type": "boolean", "default": False},
            "stream_options": {
                "type": "object",
                "properties": {"include_usage": {"type": "boolean"}},
            },
            "max_tokens": {**integer, "minimum": 1},
            "max_completion_tokens": {**integer, "minimum": 1},
            "n": {**integer, "minimum": 1, "maximum": 128, "default": 1},
            "stop": {"oneOf": [{"type": "string"}, {"type": "array", "maxItems": 4}]},
            "seed": integer,
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "top_p": {"type": "number", "minimum": 0, "maximum": 1},
            "tools": {"type": "array", "items": {"type": "object"}},
            "tool_choice": {"oneOf": [{"type": "string"}, {"type": "object"}]},
            "parallel_tool_calls": {"type": "boolean", "default": True},
            "response_format": {"type": "object"},
            "logprobs": {"type": "boolean"},
            "top_logprobs": {**integer, "minimum": 0, "maximum": 20},
        },
    }


def _header(name: str, description: str) -> dict[str, Any]:
    schema = {"type": "string"}
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": schema,
        "description": description,
    }


def openapi_document(models: list[str]) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the tutor server."""
    chat = {
        "summary": "Create a chat completion (streamed as SSE when stream is true)",
        "operationId": "createChatCompletion",
        "parameters": [
            _header("x-nbstream-fault", "Fault spec, e.g. drop=5,times=1 (see docs/server.md)"),
            _header("x-nbstream-pace", "Pacing, e.g. tps=50,ttft=200"),
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}}
            },
        },
        "responses": {
            "200": {
                "description": "A chat.completion object, or a text/event-stream of chunks",
                "content": {"application/json": {}, "text/event-stream": {}},
            },
            **_error_responses(400, 401, 404, 429, 500, 503),
        },
    }
    model_list = {
        "summary": "List the model names this server answers",
        "operationId": "listModels",
        "responses": {"200": {"description": "A list of model objects"}, **_error_responses(401)},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nbstream tutor server",
            "version": __version__,
            "description": "An OpenAI-compatible Chat Completions server with a deterministic "
            "teaching model, fault injection and stream replay.",
        },
        "paths": {
            "/v1/chat/completions": {"post": chat},
            "/v1/models": {"get": model_list},
            "/v1/models/{model}": {
                "get": {
                    "summary": "Describe one model",
                    "operationId": "retrieveModel",
                    "parameters": [
                        {
                            "name": "model",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "A model object"},
                        **_error_responses(404),
                    },
                }
            },
            "/health": {
                "get": {"summary": "Liveness check", "responses": {"200": {"description": "ok"}}}
            },
        },
        "components": {
            "schemas": {
                "ChatRequest": _request_schema(models),
                "ErrorResponse": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["message", "type", "param", "code"],
                            "properties": {
                                "message": {"type": "string"},
                                "type": {"type": "string"},
                                "param": {"type": ["string", "null"]},
                                "code": {"type": ["string", "null"]},
                            },
                        }
                    },
                },
            }
        },
    }
