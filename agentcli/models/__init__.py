"""Models behind one protocol: `provider/name` strings resolved to adapters, and the defaults.

Providers: `anthropic/…` (Messages API), `openai/…` (chat-completions, also any
OpenAI-compatible server via a base URL), `local/…` (the bundled GGUF through llama.cpp).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from agentcli.models import catalog
from agentcli.models.base import Model, ModelError, Request
from agentcli.models.failover import FailoverChain

__all__ = ["Model", "ModelError", "Request", "FailoverChain", "ModelOptions", "resolve",
           "default_model", "split_name", "PROVIDERS"]

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


def resolve(name: str, options: ModelOptions | None = None) -> Model:
    """Build the adapter for `name`. Raises ModelError (one line) if it cannot be used."""
    opts = options or ModelOptions()
    provider, model = split_name(name)
    if provider == "anthropic":
        from agentcli.models.anthropic_messages import AnthropicModel

        return AnthropicModel(model, base_url=opts.base_url if opts.base_url else None,
                              context_window_override=opts.context_window,
                              max_retries=opts.max_retries, timeout=opts.timeout)
    if provider == "openai":
        from agentcli.models.openai_chat import OpenAIModel

        return OpenAIModel(model, base_url=opts.base_url, context_window_override=opts.context_window,
                           max_retries=opts.max_retries, timeout=opts.timeout, lean=small_model(model))
    from agentcli.models.llama_local import LocalModel

    return LocalModel(model, context_window_override=opts.context_window)


# A size in the name of at most 3B parameters ("qwen2.5-coder-1.5b-instruct", "llama3.2:3b", "270m").
_SMALL = re.compile(r"(?<![\w.])(?:(?:0?\.\d+|[123](?:\.\d+)?)b|\d{2,3}m)(?![a-z])", re.I)


def small_model(model: str, env: dict[str, str] | None = None) -> bool:
    """Whether a model served over a wire gets what the bundled one gets: the lean prompt and
    tool descriptions, the file list, tighter output caps, parse checks on edits. By its name,
    or AGENTCLI_LEAN=1/0 to say so."""
    env = dict(os.environ) if env is None else env
    if env.get("AGENTCLI_LEAN") in ("0", "1"):
        return env["AGENTCLI_LEAN"] == "1"
    return bool(_SMALL.search(model))


def default_model(env: dict[str, str] | None = None) -> tuple[str, str]:
    """(model name, why) when the user named none: a key picks a provider, else the local model."""
    env = dict(os.environ) if env is None else env
    if env.get("AGENTCLI_MODEL"):
        return env["AGENTCLI_MODEL"], "from AGENTCLI_MODEL"
    if env.get("ANTHROPIC_API_KEY"):
        return catalog.DEFAULT_ANTHROPIC, "ANTHROPIC_API_KEY is set"
    if env.get("OPENAI_API_KEY"):
        return catalog.DEFAULT_OPENAI, "OPENAI_API_KEY is set"
    from agentcli.local import assets

    return assets.default_local_name(), "no API key is set: the bundled model, offline"
