"""Which model names the tutor server answers, and how a requested name is read.

Published examples hard-code model names (`gpt-4.1`, `llama-3.3-70b-versatile`, ...). The
server answers those names with the tutor, so an example runs unchanged once only the base
URL points here, and every reply echoes the name that was asked for. A name may carry a
fault or pace spec after `@` (`tutor@drop=3`), and `replay:<recording>` names a recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ALIASES", "MODEL_CREATED", "TUTOR", "ModelName", "model_card", "parse_model"]

TUTOR = "tutor"
REPLAY_PREFIX = "replay:"
# Fixed, so /v1/models is byte-for-byte reproducible (2025-01-01T00:00:00Z).
MODEL_CREATED = 1735689600

ALIASES: tuple[str, ...] = (
    # OpenAI names used by the SDK README, the quickstarts and countless blog posts.
    "gpt-3.5-turbo",
    "gpt-4",
    "gpt-4-turbo",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    # Meta Llama names as served by DeepInfra, Together, vLLM and Hugging Face guides.
    "Llama-3.3-70B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
    "meta-llama/Meta-Llama-3.1-8B-Instruct",
    # Groq quickstart names.
    "llama-3.3-70b-versatile",
    "llama-3.1-8b-instant",
    # Ollama tags used in local-model tutorials.
    "llama3.2",
    "llama3.1",
    "mistral",
    "qwen2.5",
)

_OWNERS = {"gpt": "openai", "Llama": "meta", "meta-llama": "meta", "llama": "meta"}


@dataclass(frozen=True)
class ModelName:
    """A requested model name taken apart: the name to echo, and what follows `@`."""

    requested: str
    name: str
    spec: str
    replay: str | None

    @property
    def known(self) -> bool:
        return self.name == TUTOR or self.name in ALIASES


def parse_model(requested: str) -> ModelName:
    """Split `tutor@drop=3` into name and spec, and recognise `replay:<recording>`."""
    name, _, spec = requested.partition("@")
    name = name.strip()
    replay = name[len(REPLAY_PREFIX) :].strip() if name.startswith(REPLAY_PREFIX) else None
    return ModelName(requested, name, spec.strip(), replay)


def _owner(name: str) -> str:
    for prefix, owner in _OWNERS.items():
        if name.startswith(prefix):
            return owner
    return "nbstream" if name == TUTOR else "community"


def model_card(name: str) -> dict[str, Any]:
    """One entry of `/v1/models`, shaped like OpenAI's."""
    return {"id": name, "object": "model", "created": MODEL_CREATED, "owned_by": _owner(name)}
