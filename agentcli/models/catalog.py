"""What agentcli knows about named models: context windows, prices, and the defaults.

Matching is by longest prefix of the model name, so dated snapshots inherit their family's row.
"""

from __future__ import annotations

from agentcli.types import Usage

DEFAULT_ANTHROPIC = "anthropic/claude-sonnet-4-5"
DEFAULT_OPENAI = "openai/gpt-5"
DEFAULT_LOCAL = "local/qwen2.5-coder-1.5b"
DEFAULT_WINDOW = 128_000

_WINDOWS: dict[str, int] = {
    "claude-": 200_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4": 200_000,
    "qwen2.5-coder": 32_768,
    "llama3": 8_192,
    "llama-3": 8_192,
}

# USD per million tokens: input, output, cache read, cache write.
_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-opus-4-5": (5.0, 25.0, 0.5, 6.25),
    "claude-opus-4": (15.0, 75.0, 1.5, 18.75),
    "claude-sonnet-4": (3.0, 15.0, 0.3, 3.75),
    "claude-3-7-sonnet": (3.0, 15.0, 0.3, 3.75),
    "claude-3-5-sonnet": (3.0, 15.0, 0.3, 3.75),
    "claude-haiku-4-5": (1.0, 5.0, 0.1, 1.25),
    "claude-3-5-haiku": (0.8, 4.0, 0.08, 1.0),
    "gpt-5-nano": (0.05, 0.4, 0.005, 0.0),
    "gpt-5-mini": (0.25, 2.0, 0.025, 0.0),
    "gpt-5": (1.25, 10.0, 0.125, 0.0),
    "gpt-4.1-nano": (0.1, 0.4, 0.025, 0.0),
    "gpt-4.1-mini": (0.4, 1.6, 0.1, 0.0),
    "gpt-4.1": (2.0, 8.0, 0.5, 0.0),
    "gpt-4o-mini": (0.15, 0.6, 0.075, 0.0),
    "gpt-4o": (2.5, 10.0, 1.25, 0.0),
    "o3": (2.0, 8.0, 0.5, 0.0),
    "o4-mini": (1.1, 4.4, 0.275, 0.0),
}


def _lookup(table: dict, name: str):
    bare = name.split("/", 1)[-1].lower()
    best = max((k for k in table if bare.startswith(k)), key=len, default=None)
    return table[best] if best else None


def context_window(name: str) -> int:
    """Tokens the model can read at once; unknown models get a conservative default."""
    return _lookup(_WINDOWS, name) or DEFAULT_WINDOW


def cost_usd(name: str, usage: Usage) -> float | None:
    """The price of `usage` on `name`, or None where agentcli does not know the price."""
    if name.startswith("local/"):
        return 0.0
    price = _lookup(_PRICES, name)
    if price is None:
        return None
    p_in, p_out, p_read, p_write = price
    return round((usage.input_tokens * p_in + usage.output_tokens * p_out
                  + usage.cache_read_input_tokens * p_read
                  + usage.cache_creation_input_tokens * p_write) / 1_000_000, 6)
