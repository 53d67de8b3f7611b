"""Which environment variables are a model provider's settings or keys (or agentcli's own).

Its own module, importing nothing, because `keys.protect` reads it first thing in every start,
before anything else is imported (agentcli.config takes 40 ms to import). So the names here are
the one exception to "only config names AGENTCLI_* variables"; tests/test_config.py checks that
they agree with config's.
"""

from __future__ import annotations

# What commands the model runs must not read: the model providers' keys and agentcli's own
# settings. AGENTCLI_PASS_ENV (comma-separated names) lets chosen ones through, e.g. for a
# project whose tests call a provider.
PREFIX = "AGENTCLI_"
PROVIDER_PREFIXES = ("ANTHROPIC_", "OPENAI_", "AZURE_OPENAI_", "CLAUDE_", PREFIX)
PROVIDER_NAMES = ("GEMINI", "GOOGLE", "GOOGLE_GENERATIVE_AI", "MISTRAL", "COHERE", "CO", "GROQ",
                  "TOGETHER", "TOGETHERAI", "FIREWORKS", "DEEPSEEK", "XAI", "GROK", "OPENROUTER",
                  "PERPLEXITY", "PPLX", "REPLICATE", "AI21", "CEREBRAS", "VOYAGE", "DEEPINFRA",
                  "ANYSCALE", "LLAMA", "MOONSHOT", "DASHSCOPE", "ZHIPU", "NVIDIA", "SAMBANOVA")
KEPT = {"AGENTCLI_CACHE_DIR"}
# The pipe `keys.protect` hands the keys over in; config.ENV lists it with the other variables.
KEYS_FD = "AGENTCLI_KEYS_FD"  # a nested agentcli finds the bundled model; no secret


def is_provider_secret(name: str) -> bool:
    """Whether `name` is a model provider's setting or key (or agentcli's own) that commands
    run for the model should not see."""
    upper = name.upper()
    if upper in KEPT:
        return False
    if upper.startswith(PROVIDER_PREFIXES):
        return True
    for suffix in ("_API_KEY", "_API_TOKEN", "_AUTH_TOKEN"):
        if upper.endswith(suffix) and upper[: -len(suffix)] in PROVIDER_NAMES:
            return True
    return False
