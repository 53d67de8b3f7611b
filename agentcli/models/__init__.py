"""Models behind one protocol: `provider/name` strings, the options of an adapter, and which
models count as small.

Providers: `anthropic/…` (Messages API), `openai/…` (chat-completions, also any
OpenAI-compatible server via a base URL), `local/…` (the bundled GGUF through llama.cpp, in
agentcli/local/model.py). modelchoice.py builds the adapter for a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentcli import config
from agentcli.models.base import Model, ModelError, Request
from agentcli.models.failover import FailoverChain

__all__ = ["Model", "ModelError", "Request", "FailoverChain", "ModelOptions", "split_name",
           "small_model", "PROVIDERS"]

PROVIDERS = ("anthropic", "openai", "local")


@dataclass
class ModelOptions:
    """Settings that apply to whichever model is built."""

    base_url: str | None = None
    context_window: int | None = None
    max_retries: int = 2
    timeout: float = 600.0


def split_name(name: str) -> tuple[str, str]:
    """("provider", "model") from "provider/model"; a bare name is matched to its provider."""
    name = name.strip()
    if "/" in name:
        provider, _, model = name.partition("/")
        if provider in PROVIDERS and model:
            return provider, model
        if provider not in PROVIDERS:
            raise ModelError("bad_name", f"unknown provider {provider!r} in model {name!r}; "
                             f"use one of: {', '.join(p + '/…' for p in PROVIDERS)}")
    if not name or name.endswith("/"):
        raise ModelError("bad_name", f"model name {name!r} is empty; use provider/model")
    low = name.lower()
    if low.startswith("claude"):
        return "anthropic", name
    if low.startswith(("gpt", "o1", "o3", "o4", "chatgpt")):
        return "openai", name
    if low.startswith("qwen2.5-coder"):
        return "local", name
    raise ModelError("bad_name", f"cannot tell the provider of model {name!r}; write it as "
                     "anthropic/NAME, openai/NAME or local/NAME")


# A size in the name of at most 3B parameters ("qwen2.5-coder-1.5b-instruct", "llama3.2:3b", "270m").
_SMALL = re.compile(r"(?<![\w.])(?:(?:0?\.\d+|[123](?:\.\d+)?)b|\d{2,3}m)(?![a-z])", re.I)


def small_model(model: str, env: dict[str, str] | None = None) -> bool:
    """Whether a model served over a wire gets what the bundled one gets: the lean prompt and
    tool descriptions, the file list, tighter output caps, parse checks on edits. By its name,
    or AGENTCLI_LEAN=1/0 to say so."""
    lean = config.env(env).lean
    return bool(_SMALL.search(model)) if lean is None else lean
