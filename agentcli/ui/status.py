"""The status line under the prompt: model, window use, tokens, cost, last compaction, approvals."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


def tokens(n: int | float) -> str:
    """1234 -> "1.2k", 2_500_000 -> "2.5M"."""
    n = float(n)
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if n >= size:
            text = f"{n / size:.1f}"
            return (text[:-2] if text.endswith(".0") else text) + unit
    return f"{int(n)}"


def money(cost: float | None) -> str:
    if cost is None:
        return "cost n/a"
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost < 0.01 else f"${cost:.2f}"


def ago(seconds: float) -> str:
    """A short "how long ago": 12s, 5m, 3h, 2d."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h ago"
    return f"{s // 86400}d ago"


@dataclass
class WindowUse:
    used: int
    window: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.window if self.window else 0.0


def window_use(session: Any) -> WindowUse | None:
    """Tokens the next request will hold (the library's count) against the model's window; None
    until the tokenizer is loaded (in the background: loading it would hold up the prompt)."""
    from agentcli import tokens

    if not tokens.loaded():
        return None
    try:
        window = int(session.model.context_window)
    except Exception:
        return None
    try:
        return WindowUse(int(session.context_tokens()), window)
    except Exception:  # the status line must never break the prompt
        return None


def status_parts(session: Any, *, approval: str, compacted_at: float | None,
                 model_name: str | None = None) -> list[tuple[str, str]]:
    """(style, text) pieces for the status line; a session still starting shows what it can."""
    parts: list[tuple[str, str]] = []
    name = model_name or (session.chain.current_name if session is not None else "starting…")
    parts.append(("bold", name))
    if session is not None:
        use = window_use(session)
        if use is not None:
            style = "red" if use.percent >= 80 else "yellow" if use.percent >= 60 else ""
            parts.append((style, f"ctx {use.percent:.0f}% ({tokens(use.used)}/{tokens(use.window)})"))
        u = session.usage
        parts.append(("", f"↑{tokens(u.prompt_tokens)} ↓{tokens(u.output_tokens)}"))
        parts.append(("", money(session.cost)))
    parts.append(("", f"compacted {ago(time.time() - compacted_at)}" if compacted_at
                  else "not compacted"))
    parts.append(("red" if approval == "auto" else "", f"approval: {approval}"))
    return parts


def status_text(parts: list[tuple[str, str]]) -> str:
    return " · ".join(text for _, text in parts)
