"""The budgets of a reproduction: `--max-time`, `--max-cost` and `--max-tokens` cover all three
phases together, the way a person setting `--max-cost 20` expects.

Phases 1 and 2 are short sessions: `PhaseBudget`, at the session's `before_turn` hook, stops one
when a budget is spent. Phase 3 is an
unattended run, and its budgets are what phases 1 and 2 left (`left`). What a session used is
read from its archive (`session_used`), so it survives a kill and counts across resumes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from agentcli.library.archive import read_events
from agentcli.models.catalog import cost_usd
from agentcli.types import Outcome, Usage
from agentcli.unattended import budgets
from agentcli.unattended.budgets import Limits, Used
from agentcli.unattended.state import parse_ts

if TYPE_CHECKING:
    from agentcli.loop import Host

_SEGMENT_STARTS = ("session_start", "session_resume")


def session_used(archive: Path) -> Used:
    """Time, tokens, cost and turns of one session from its archive. Time is the working time of
    each stretch of it (a start or resume to its last event), so a killed process counts up to
    its last record and the hours between a kill and a resume do not count."""
    used = Used()
    start = last = None
    for event in read_events(archive):
        when = parse_ts(event.get("ts", ""))
        if event.get("type") in _SEGMENT_STARTS:
            if start is not None and last is not None:
                used.time_s += max(0.0, (last - start).total_seconds())
            start = last = when
        elif when is not None:
            last = when
        if event.get("type") == "assistant":
            usage = Usage.from_dict(event.get("usage") or {})
            used.turns += 1
            used.tokens += usage.prompt_tokens + usage.output_tokens
            price = cost_usd(event.get("model") or "", usage)
            if price is None:
                used.unpriced.add(event.get("model") or "?")
                used.cost_usd = None
            elif used.cost_usd is not None:
                used.cost_usd = round(used.cost_usd + price, 6)
    if start is not None and last is not None:
        used.time_s += max(0.0, (last - start).total_seconds())
    return used


def total(parts: Iterable[Used]) -> Used:
    """The sum of several sessions' use; cost is unknown once any part's is."""
    out = Used()
    for u in parts:
        out.time_s += u.time_s
        out.tokens += u.tokens
        out.turns += u.turns
        out.unpriced |= u.unpriced
        out.cost_usd = None if out.cost_usd is None or u.cost_usd is None else round(out.cost_usd + u.cost_usd, 6)
    return out


def left(limits: Limits, used: Used) -> Limits:
    """What is left of each budget that is set (turns are per phase, so they are kept as set).
    Call it only when `budgets.exceeded(limits, used)` is None: every result is then above zero."""
    return Limits(time_s=limits.time_s - used.time_s if limits.time_s else None,
                  cost_usd=round(limits.cost_usd - used.cost_usd, 6)
                  if limits.cost_usd and used.cost_usd is not None else limits.cost_usd,
                  tokens=limits.tokens - used.tokens if limits.tokens else None,
                  turns=limits.turns)


def spent(limits: Limits, used: Used) -> tuple[str, str] | None:
    """(stop_reason, message) when one of the reproduction's budgets (not turns) is spent."""
    return budgets.exceeded(replace(limits, turns=None), used)


class PhaseBudget:
    """Stops a phase's session (after its own policy's turn limit) when the reproduction's
    budgets are spent: `before` is what the other sessions used, `earlier_s` the working time of
    this session before this process took it up. `warned` is shared by the phases of one
    process, so an unenforceable --max-cost is said once."""

    def __init__(self, limits: Limits, before: Used, earlier_s: float = 0.0,
                 warned: set[str] | None = None):
        self.limits = limits
        self.before = before
        self.earlier_s = earlier_s
        self.since = time.monotonic()
        self.warned = warned if warned is not None else set()
        self.session: Host | None = None

    def plug(self, host: Host) -> None:
        """Check the budgets before each of the session's turns."""
        self.session = host
        host.hooks.on("before_turn", self.before_turn)

    def used(self, session: Host) -> Used:
        u, cost = session.usage, session.cost
        known = self.before.cost_usd is not None and cost is not None
        return Used(time_s=self.before.time_s + self.earlier_s + time.monotonic() - self.since,
                    cost_usd=round(self.before.cost_usd + cost, 6) if known else None,  # type: ignore[operator]
                    tokens=self.before.tokens + u.prompt_tokens + u.output_tokens)

    def before_turn(self) -> Outcome | None:
        session = self.session
        assert session is not None, "PhaseBudget used before plug()"
        used = self.used(session)
        if self.limits.cost_usd and used.cost_usd is None and "cost" not in self.warned:
            self.warned.add("cost")
            models = ", ".join(sorted(self.before.unpriced)) or session.model.name
            session.emit("notice", level="warning", text=budgets.unpriced_notice(models, self.limits))
        over = spent(self.limits, used)
        return Outcome(over[0], over[1], is_error=True) if over else None
