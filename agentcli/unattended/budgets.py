"""Budgets of an unattended run: time, cost, tokens, turns. Limits, what is used, and marks.

What is used is never kept in memory alone: `RunState` folds it out of the archive (turn usage,
the timestamps of each segment of the run), so it survives a crash and carries over a resume.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

# A checkpoint commit is made when a budget crosses each of these shares.
MARKS = (25, 50, 75)
# Below this share left, the continue message asks the model to wrap up.
WRAP_UP_SHARE = 0.15

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|hr|m|min|s|sec)?", re.IGNORECASE)


class BudgetError(ValueError):
    """A budget flag could not be read; the message says which and why."""


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "8h", "1h30m", "1.5h" or a bare number of seconds."""
    raw = str(text).strip().lower().replace(" ", "")
    if not raw:
        raise BudgetError("empty duration")
    pos, total = 0, 0.0
    while pos < len(raw):
        m = _PART.match(raw, pos)
        if not m or m.end() == pos:
            raise BudgetError(f"cannot read duration {text!r}; use e.g. 90s, 30m, 8h or 1h30m")
        number, unit = float(m.group(1)), m.group(2)
        if unit is None and m.end() != len(raw):
            raise BudgetError(f"cannot read duration {text!r}; use e.g. 90s, 30m, 8h or 1h30m")
        total += number * _UNITS[unit or "s"]
        pos = m.end()
    if total <= 0:
        raise BudgetError(f"duration {text!r} must be more than zero")
    return total


def format_duration(seconds: float) -> str:
    """Short human form: 45s, 12m, 1h05m, 2d3h00m."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s" if s % 60 and s < 600 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h{(s % 3600) // 60:02d}m"


def parse_cost(text: Any) -> float:
    """USD from "5", "5.00" or "$5"."""
    try:
        value = float(str(text).strip().lstrip("$"))
    except ValueError:
        raise BudgetError(f"cannot read cost {text!r}; give US dollars, e.g. 5 or 2.50") from None
    if value <= 0:
        raise BudgetError(f"cost {text!r} must be more than zero")
    return value


def parse_tokens(text: Any) -> int:
    """Tokens from "200000", "200k", "2M"."""
    raw = str(text).strip().lower().replace("_", "").replace(",", "")
    mult = 1
    if raw[-1:] in ("k", "m"):
        mult = 1_000 if raw[-1] == "k" else 1_000_000
        raw = raw[:-1]
    try:
        value = int(float(raw) * mult)
    except ValueError:
        raise BudgetError(f"cannot read token count {text!r}; e.g. 500000, 500k or 2M") from None
    if value <= 0:
        raise BudgetError(f"token count {text!r} must be more than zero")
    return value


@dataclass
class Limits:
    """The budgets the user set; None is no limit."""

    time_s: float | None = None
    cost_usd: float | None = None
    tokens: int | None = None
    turns: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Limits:
        d = d or {}
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__})

    def merged(self, override: Limits) -> Limits:
        """These limits with every limit `override` sets replacing ours (a resume with new flags)."""
        return Limits(**{k: getattr(override, k) if getattr(override, k) is not None else getattr(self, k)
                         for k in self.__dataclass_fields__})


@dataclass
class Used:
    """What the run has used so far, across every segment (start and resumes)."""

    time_s: float = 0.0
    cost_usd: float | None = 0.0  # None once a turn ran on a model whose price is unknown
    tokens: int = 0
    turns: int = 0
    unpriced: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"time_s": round(self.time_s, 1), "cost_usd": self.cost_usd, "tokens": self.tokens,
                "turns": self.turns}


def shares(limits: Limits, used: Used) -> dict[str, float]:
    """The share (0..1+) of each set budget that is used; cost only where it is known."""
    out: dict[str, float] = {}
    if limits.time_s:
        out["time"] = used.time_s / limits.time_s
    if limits.cost_usd and used.cost_usd is not None:
        out["cost"] = used.cost_usd / limits.cost_usd
    if limits.tokens:
        out["tokens"] = used.tokens / limits.tokens
    if limits.turns:
        out["turns"] = used.turns / limits.turns
    return out


def exceeded(limits: Limits, used: Used) -> tuple[str, str] | None:
    """(stop_reason, message) for the first budget that is spent, or None."""
    if limits.time_s and used.time_s >= limits.time_s:
        return "time", f"the time budget is spent: {format_duration(used.time_s)} of " \
                       f"{format_duration(limits.time_s)} (--max-time)"
    if limits.cost_usd and used.cost_usd is not None and used.cost_usd >= limits.cost_usd:
        return "budget", (f"the cost budget is spent: ${used.cost_usd:.2f} of ${limits.cost_usd:.2f} "
                          "(--max-cost)")
    if limits.tokens and used.tokens >= limits.tokens:
        return "budget", (f"the token budget is spent: {used.tokens:,} of {limits.tokens:,} tokens "
                          "(--max-tokens)")
    if limits.turns and used.turns >= limits.turns:
        return "max_turns", f"stopped after {used.turns} turns (--max-turns {limits.turns})"
    return None


def crossed_marks(limits: Limits, used: Used, done: set[str]) -> list[tuple[str, int]]:
    """Marks (budget, percent) reached that have no checkpoint yet, e.g. ("time", 50)."""
    out = []
    for budget, share in shares(limits, used).items():
        for mark in MARKS:
            if share * 100 >= mark and f"{budget}:{mark}" not in done:
                out.append((budget, mark))
    return out


def remaining_text(limits: Limits, used: Used) -> str:
    """One line for the model: what is left of each budget."""
    parts = []
    if limits.time_s:
        parts.append(f"time {format_duration(limits.time_s - used.time_s)} left of "
                     f"{format_duration(limits.time_s)}")
    if limits.cost_usd:
        if used.cost_usd is None:
            parts.append(f"cost unknown (limit ${limits.cost_usd:.2f})")
        else:
            parts.append(f"${max(0.0, limits.cost_usd - used.cost_usd):.2f} left of ${limits.cost_usd:.2f}")
    if limits.tokens:
        parts.append(f"{max(0, limits.tokens - used.tokens):,} tokens left of {limits.tokens:,}")
    if limits.turns:
        parts.append(f"{max(0, limits.turns - used.turns)} turns left of {limits.turns}")
    return "; ".join(parts) if parts else "no budget limits set"


def used_text(limits: Limits, used: Used) -> str:
    """One line for people: used / limit for each budget."""
    parts = [f"time {format_duration(used.time_s)}" + (f" of {format_duration(limits.time_s)}"
                                                       if limits.time_s else "")]
    cost = "unknown" if used.cost_usd is None else f"${used.cost_usd:.2f}"
    parts.append(f"cost {cost}" + (f" of ${limits.cost_usd:.2f}" if limits.cost_usd else ""))
    parts.append(f"tokens {used.tokens:,}" + (f" of {limits.tokens:,}" if limits.tokens else ""))
    parts.append(f"turns {used.turns}" + (f" of {limits.turns}" if limits.turns else ""))
    return " · ".join(parts)


def wrap_up(limits: Limits, used: Used) -> bool:
    """Whether some budget is nearly spent, so the model should commit to finishing."""
    return any(share >= 1 - WRAP_UP_SHARE for share in shares(limits, used).values())


def unpriced_notice(models: str, limits: Limits) -> str:
    """The one-line warning when --max-cost is set but a model's price is unknown: it names only
    the budgets that really are enforced."""
    enforced = [flag for flag, value in (("--max-time", limits.time_s), ("--max-tokens", limits.tokens),
                                         ("--max-turns", limits.turns)) if value]
    head = f"the price of {models} is unknown, so --max-cost ${limits.cost_usd or 0:.2f} cannot be enforced"
    if not enforced:
        return f"{head}, and no other budget is set (add --max-time or --max-tokens to bound the run)"
    still = enforced[0] if len(enforced) == 1 else ", ".join(enforced[:-1]) + " and " + enforced[-1]
    return f"{head}; {still} {'is' if len(enforced) == 1 else 'are'} still enforced"
