"""Bad input gets the real API's error body and status, never a 500 with a traceback."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from server_helpers import WEATHER_TOOL, chat_body, user

from nbstream.server import TutorServer
from nbstream.testing import running_server


def post(server: TutorServer, body: Any, **kwargs: Any) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        kwargs["content"] = body
    else:
        kwargs["json"] = body
    return httpx.post(server.base_url + "/chat/completions", timeout=10, **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


BAD_REQUESTS: list[tuple[Any, str | None, str | None]] = [
    (b"{not json", None, None),
    (b"\xff\xfe", None, None),
    ([1, 2], None, None),
    ({"messages": user("hi")}, "model", "missing_required_parameter"),
    ({"model": 5, "messages": user("hi")}, "model", "invalid_type"),
    ({"model": "tutor"}, "messages", "missing_required_parameter"),
    ({"model": "tutor", "messages": "hi"}, "messages", "invalid_type"),
    ({"model": "tutor", "messages": []}, "messages", "empty_array"),
    ({"model": "tutor", "messages": ["hi"]}, "messages[0]", "invalid_type"),
    (
        {"model": "tutor", "messages": [{"role": "robot", "content": "x"}]},
        "messages[0].role",
        "invalid_value",
    ),
    (
        {"model": "tutor", "messages": [{"content": "x"}]},
        "messages[0].role",
        "missing_required_parameter",
    ),
    (
        {"model": "tutor", "messages": [{"role": "user", "content": 3}]},
        "messages[0].content",
        "invalid_type",
    ),
    (chat_body(n=0), "n", "integer_below_min_value"),
    (chat_body(n=129), "n", "integer_above_max_value"),
    (chat_body(n="2"), "n", "invalid_type"),
    (chat_body(n=True), "n", "invalid_type"),
    (chat_body(max_tokens=0), "max_tokens", "integer_below_min_value"),
    (chat_body(max_completion_tokens=1.5), "max_completion_tokens", "invalid_type"),
    (chat_body(temperature=3), "temperature", "decimal_above_max_value"),
    (chat_body(top_p=-1), "top_p", "decimal_below_min_value"),
    (chat_body(stream="yes"), "stream", "invalid_type"),
    (chat_body(stream_options={"include_usage": True}), "stream_options", None),
    (chat_body(stop=["a", "b", "c", "d", "e"]), "stop", "array_above_max_length"),
    (chat_body(stop=5), "stop", "invalid_type"),
    (chat_body(seed="x"), "seed", "invalid_type"),
    (chat_body(top_logprobs=2), "logprobs", "invalid_value"),
    (chat_body(logprobs=True, top_logprobs=21), "top_logprobs", "integer_above_max_value"),
    (chat_body(tools={"a": 1}), "tools", "invalid_type"),
    (chat_body(tools=[{"type": "retrieval"}]), "tools[0].type", "invalid_value"),
    (chat_body(tools=[{"type": "function"}]), "tools[0].function", "missing_required_parameter"),
    (
        chat_body(tools=[{"type": "function", "function": {"name": "bad name!"}}]),
        "tools[0].function.name",
        "invalid_value",
    ),
    (
        chat_body(
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]
        ),
        "tools[0].function.parameters",
        "invalid_function_parameters",
    ),
    (chat_body(tool_choice="auto"), "tool_choice", None),
    (chat_body(tools=[WEATHER_TOOL], tool_choice="sometimes"), "tool_choice", "invalid_value"),
    (
        chat_body(
            tools=[WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "nope"}}
        ),
        "tool_choice",
        None,
    ),
    (chat_body(response_format={"type": "xml"}), "response_format.type", "invalid_value"),
    (chat_body("Hello", response_format={"type": "json_object"}), "messages", None),
    (
        chat_body(response_format={"type": "json_schema", "json_schema": {}}),
        "response_format.json_schema.name",
        "missing_required_parameter",
    ),
    (
        {"model": "tutor", "messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]},
        "messages[0].role",
        None,
    ),
    ({"model": "tutor@explode=1", "messages": user("hi")}, "model", "invalid_value"),
    (
        {"model": "tutor", "messages": [{"role": "assistant", "tool_calls": 1.0}]},
        "messages[0].tool_calls",
        "invalid_type",
    ),
    (
        {"model": "tutor", "messages": [{"role": "assistant", "tool_calls": [{"id": "c"}]}]},
        "messages[0].tool_calls[0].function",
        "invalid_type",
    ),
    (
        {"model": "tutor", "messages": [{"role": "tool", "tool_call_id": [], "content": "1"}]},
        "messages[0].role",
        None,
    ),
    *(
        (
            chat_body(
                tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}]
            ),
            "tools[0].function.parameters",
            "invalid_function_parameters",
        )
        for schema in (
            {"type": "object", "properties": [1, 2]},
            {"type": "object", "properties": {"a": 5}},
            {"type": "object", "required": "a"},
            {"type": "object", "properties": {"a": {"type": "array", "items": [1]}}},
        )
    ),
]


@pytest.mark.parametrize("body, param, code", BAD_REQUESTS)
def test_bad_requests_are_400_with_param(
    server: TutorServer, body: Any, param: str | None, code: str | None
) -> None:
    response = post(server, body)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code
    assert "Traceback" not in response.text and error["message"]


def test_bad_request_seen_by_the_sdk(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tutor", messages=user("hi"), n=0)
    assert info.value.status_code == 400 and info.value.param == "n"


def test_unknown_model_is_404_model_not_found(server: TutorServer, client: OpenAI) -> None:
    error = error_of(post(server, {"model": "gpt-7-ultra", "messages": user("hi")}))
    assert error == {
        "message": "The model `gpt-7-ultra` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-7-ultra", messages=user("hi"), stream=True)
    assert info.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-7-ultra")


def test_accept_any_model_answers_every_name() -> None:
    with (
        running_server(accept_any_model=True) as srv,
        OpenAI(base_url=srv.base_url, api_key="k") as c,
    ):
        reply = c.chat.completions.create(model="my-own-model", messages=user("Hello!"))
        assert reply.model == "my-own-model"
        assert c.models.retrieve("my-own-model").id == "my-own-model"


def test_api_key_is_enforced_and_never_echoed() -> None:
    secret = "sk-test-very-secret-123"
    with running_server(api_key=secret) as srv:
        missing = httpx.post(srv.base_url + "/chat/completions", json=chat_body())
        assert missing.status_code == 401 and error_of(missing)["code"] is None
        wrong = httpx.post(
            srv.base_url + "/chat/completions",
            json=chat_body(),
            headers={"authorization": "Bearer sk-wrong"},
        )
        assert wrong.status_code == 401 and error_of(wrong)["code"] == "invalid_api_key"
        assert secret not in wrong.text and "sk-wrong" not in wrong.text
        assert httpx.get(srv.base_url + "/models").status_code == 401
        assert httpx.get(srv.url + "/health").status_code == 200
        with (
            OpenAI(base_url=srv.base_url, api_key="nope", max_retries=0) as bad,
            pytest.raises(openai.AuthenticationError),
        ):
            bad.chat.completions.create(model="tutor", messages=user("hi"))
        with OpenAI(base_url=srv.base_url, api_key=secret) as good:
            assert good.chat.completions.create(model="tutor", messages=user("hi")).choices


def test_unknown_routes_and_methods_use_the_error_body(server: TutorServer) -> None:
    missing = httpx.post(server.base_url + "/completions-v9", json={})
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Invalid URL (POST /v1/completions-v9)"
    wrong_method = httpx.get(server.base_url + "/chat/completions")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["type"] == "invalid_request_error"


def test_health_root_and_openapi(server: TutorServer) -> None:
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert "/v1/chat/completions" in httpx.get(server.url + "/").json()["endpoints"]
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    assert {p["name"] for p in chat["parameters"]} == {"x-nbstream-fault", "x-nbstream-pace"}
    assert {"200", "400", "404", "429"} <= set(chat["responses"])
    assert "messages" in doc["components"]["schemas"]["ChatRequest"]["required"]
