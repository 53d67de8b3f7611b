"""Which model a session starts on, the failover chain behind it, and the adapter for a name
(the small-model harness plugged into a small model behind an OpenAI-compatible server).

A new session takes the model of the settings (a flag, the environment or a config file), else
the default for the keys set. A resumed one keeps the model it ran on unless a flag names
another: a model from the environment or a config file is for sessions that start.
"""

from __future__ import annotations

import os

from agentcli import config
from agentcli.config import Settings
from agentcli.models import FailoverChain, Model, ModelOptions, catalog, small_model, split_name


def primary_for_new(settings: Settings) -> tuple[str, str]:
    """(model name, why it was chosen: "" for a flag, else where it came from)."""
    if not settings.model:
        return default_model()
    source = settings.sources.get("model", "flag")
    return settings.model, "" if source == "flag" else f"from {source}"


def primary_for_resume(settings: Settings, recorded: str | None) -> tuple[str, str]:
    """A flag's model, else the one the session ran on (`recorded`), else as for a new one."""
    if settings.model and settings.sources.get("model", "flag") == "flag":
        return settings.model, ""
    if recorded:
        return recorded, ""
    return (settings.model, "") if settings.model else default_model()


def chain_for(settings: Settings, primary: str) -> FailoverChain:
    names = [primary] + _fallbacks(primary, settings.fallback)
    return FailoverChain(names, lambda n: _build(n, primary, settings), cooldown_s=settings.cooldown_s)


def _fallbacks(primary: str, configured: list[str] | None) -> list[str]:
    """The chain after the primary: as configured, else the bundled model where it is usable."""
    if configured is not None:
        return [n for n in configured if n != primary]
    if primary.startswith("local/"):
        return []
    from agentcli.local import assets

    return [assets.default_local_name()] if assets.runtime_available() and assets.any_model_installed() \
        else []


def _build(name: str, primary: str, settings: Settings) -> Model:
    """Flags like --base-url and --context-window describe the primary model only."""
    opts = ModelOptions(timeout=settings.request_timeout)
    opts.base_url = settings.base_urls.get(name.partition("/")[0])  # the config's, by provider
    if name == primary:
        opts.base_url = settings.base_url or opts.base_url
        opts.context_window = settings.context_window
    return resolve(name, opts)


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
        from agentcli.local import harness
        from agentcli.models.openai_chat import OpenAIModel

        lean = small_model(model)
        return OpenAIModel(model, base_url=opts.base_url, context_window_override=opts.context_window,
                           max_retries=opts.max_retries, timeout=opts.timeout, lean=lean,
                           steering=harness if lean else None)
    from agentcli.local.model import LocalModel

    return LocalModel(model, context_window_override=opts.context_window)


def default_model(env: dict[str, str] | None = None) -> tuple[str, str]:
    """(model name, why) when the user named none: a key picks a provider, else the local model."""
    env = dict(os.environ) if env is None else env
    chosen = config.env(env).model
    if chosen:
        return chosen, f"from {config.var('model')}"
    if env.get("ANTHROPIC_API_KEY"):
        return catalog.DEFAULT_ANTHROPIC, "ANTHROPIC_API_KEY is set"
    if env.get("OPENAI_API_KEY"):
        return catalog.DEFAULT_OPENAI, "OPENAI_API_KEY is set"
    from agentcli.local import assets

    return assets.default_local_name(), "no API key is set: the bundled model, offline"
