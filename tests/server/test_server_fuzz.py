"""Property: whatever JSON a request holds, the server answers 400/404 or a reply, never crashes.

Runs the request path without HTTP (validation, the tutor, framing, every dialect), so
hypothesis can try many odd bodies quickly; the HTTP layer turns `APIError` into the body.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbstream.server.apierrors import APIError
from nbstream.server.completion import Completion
from nbstream.server.dialects import apply_dialect
from nbstream.server.faults import DIALECTS
from nbstream.server.params import validate_request
from nbstream.server.tutor import compose

KEYS = ["type", "function", "name", "parameters", "properties", "required", "items", "enum",
        "role", "content", "tool_calls", "id", "arguments", "text", "schema", "include_usage"]  # fmt: skip
PROMPTS = [
    "What's the weather in Berlin and Paris?",
    "/tokens 5",
    "/echo hi",
    "List 3 EU countries json",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 300)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
blobs = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=10,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "tool", "system"])},
        optional={
            "content": blobs | st.sampled_from(PROMPTS),
            "tool_calls": blobs,
            "tool_call_id": blobs,
        },
    ),
    min_size=1,
    max_size=3,
)
schema = st.fixed_dictionaries(
    {"type": st.just("object")},
    optional={
        "properties": blobs | st.dictionaries(st.sampled_from(["location", "n"]), blobs),
        "required": blobs,
    },
)
tools = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {"name": st.just("get_weather")}, optional={"parameters": schema}
            ),
        }
    ),
    max_size=2,
)
bodies = st.fixed_dictionaries(
    {"model": st.just("tutor"), "messages": messages},
    optional={
        key: blobs
        for key in (
            "n",
            "stop",
            "max_tokens",
            "response_format",
            "stream_options",
            "logprobs",
            "top_logprobs",
            "seed",
            "tool_choice",
        )
    }
    | {"tools": tools | blobs, "stream": st.booleans()},
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies, st.sampled_from([None, *DIALECTS]))
def test_any_body_is_refused_or_answered(body: dict[str, Any], dialect: str | None) -> None:
    try:
        req = validate_request(body)
    except APIError as exc:
        assert exc.status == 400 and exc.message
        return
    completion = Completion(req, "tutor", compose)
    frames = [
        json.dumps(e.data)
        for e in apply_dialect(dialect, completion.events(), completion.usage, "r")
    ]
    assert frames[-1] == '"[DONE]"'
    assert Completion(req, "tutor", compose).body()["object"] == "chat.completion"
