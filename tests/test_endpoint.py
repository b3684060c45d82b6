"""Endpoint resolution: arguments > profile > environment > the embedded tutor; keys masked."""

from __future__ import annotations

import pytest

from nbstream import endpoint as ep


def test_environment_wins_over_the_tutor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-abcdefghijklmnop1234")
    chosen = ep.resolve_endpoint()
    assert chosen.base_url == "http://127.0.0.1:11434/v1"
    assert chosen.label == "environment" and not chosen.embedded
    assert "abcdefghijklmnop" not in repr(chosen)
    assert "sk-…1234" in repr(chosen)
    assert ep.default_model(chosen) == "gpt-4.1-mini"


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env/v1")
    chosen = ep.resolve_endpoint(base_url="http://args/v1", api_key="k")
    assert chosen.base_url == "http://args/v1" and chosen.label == "arguments"


def test_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_KEY_FOR_TEST", "gsk_0123456789abcdef")
    ep.register_profile("groq", "https://api.groq.com/openai/v1", api_key_env="GROQ_KEY_FOR_TEST")
    chosen = ep.resolve_endpoint(profile="groq")
    assert chosen.api_key == "gsk_0123456789abcdef" and chosen.label == "profile groq"
    with pytest.raises(ValueError, match="unknown profile 'nope'"):
        ep.resolve_endpoint(profile="nope")
    with pytest.raises(ValueError, match="MISSING_VAR is not set"):
        ep.register_profile("x", "http://x/v1", api_key_env="MISSING_VAR")


def test_no_configuration_starts_the_embedded_tutor_once(capsys: pytest.CaptureFixture) -> None:
    first = ep.resolve_endpoint()
    second = ep.resolve_endpoint()
    assert first.embedded and first == second
    assert first.base_url.startswith("http://127.0.0.1:")
    notice = capsys.readouterr().err
    assert notice.count("built-in offline tutor model") <= 1
    assert ep.default_model(first) == "tutor"
    reply = ep.sync_client(first).chat.completions.create(
        model="tutor", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert reply.choices[0].message.content
    ep.stop_embedded_server()
    assert ep._server is None


def test_mask_key() -> None:
    assert ep.mask_key(None) == "(none)"
    assert ep.mask_key("short") == "………"
    assert ep.mask_key("sk-1234567890abcdef") == "sk-…cdef"
