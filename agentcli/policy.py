"""When the loop stops: turn limits, a model repeating itself, and what a final answer means.

The interactive and the plain headless session use `Policy`: an answer without tool calls ends
the run. An unattended run's session uses `OpenEnded`, which stops nothing: the run's own hooks
check budgets and stalls and go on until it is declared done.

Two guards keep a runaway model from going on for hours with nobody watching:
- every `Policy` (chat included, counted afresh per prompt) stops as "stalled" when the model
  makes the same call (same tool, same arguments) with the same result `REPEAT_LIMIT` turns in
  a row: it is not getting anywhere;
- `Policy.headless` (plain `agentcli run`) has a turn limit even when --max-turns is not given:
  `DEFAULT_RUN_TURNS`. The chat has none (a person is there to press Ctrl-C).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from agentcli.callsig import content_hash, describe
from agentcli.types import Outcome, Reply

if TYPE_CHECKING:
    from agentcli.library.context import Context, Entry


class Progress(Protocol):
    """What the plain policy reads of a session: its turn count and its context window."""

    @property
    def turns(self) -> int: ...

    @property
    def context(self) -> Context: ...

# Turns in a row with the same calls and the same results before a plain run or a chat prompt
# stops as "stalled" (unattended runs nudge first: see unattended/stall.py).
REPEAT_LIMIT = 6
# The turn limit of `agentcli run` without --max-turns and without an unattended flag.
DEFAULT_RUN_TURNS = 250


class Policy:
    """Stop after `max_turns` model calls (None: no limit), or when the model repeats the same
    calls with the same results `repeat_limit` turns in a row (None: never); accept any final
    answer. `default_turns`: `max_turns` is the default of headless runs, not the user's."""

    def __init__(self, max_turns: int | None = None, *, repeat_limit: int | None = REPEAT_LIMIT,
                 default_turns: bool = False):
        self.max_turns = max_turns
        self.repeat_limit = repeat_limit
        self.default_turns = default_turns
        self._turns_at_start: int | None = None
        self._seen_turn = -1
        self._last_key: tuple[str, ...] | None = None
        self._streak = 0

    @classmethod
    def headless(cls, max_turns: int | None = None) -> Policy:
        """The policy of a plain `agentcli run`: `max_turns`, or DEFAULT_RUN_TURNS when not given."""
        if max_turns is not None:
            return cls(max_turns)
        return cls(DEFAULT_RUN_TURNS, default_turns=True)

    def before_turn(self, session: Progress) -> Outcome | None:
        if self._turns_at_start is None:
            self._turns_at_start = session.turns
        used = session.turns - self._turns_at_start
        if self.max_turns is not None and used >= self.max_turns:
            how = ("the default limit of `agentcli run`; give --max-turns N for another, or a budget "
                   "such as --max-time 2h for long work" if self.default_turns
                   else f"--max-turns {self.max_turns}")
            return Outcome("max_turns", f"stopped after {used} turns without a final answer ({how})",
                           is_error=True)
        return self._repeating(session)

    def after_answer(self, session: Progress, reply: Reply) -> Outcome | None:
        return Outcome("done", reply.message.content)

    def reset(self) -> None:
        """Count turns afresh (each prompt in a chat gets the full limit)."""
        self._turns_at_start = None
        self._last_key, self._streak = None, 0

    def _repeating(self, session: Progress) -> Outcome | None:
        """Look at the turn just ended (once): a stop when it repeats the ones before it."""
        if not self.repeat_limit or session.turns == self._seen_turn:
            return None
        self._seen_turn = session.turns
        found = last_turn(session.context.entries)
        if found is None:
            self._last_key, self._streak = None, 0
            return None
        key, what = found
        self._streak = self._streak + 1 if key == self._last_key else 1
        self._last_key = key
        if self._streak < self.repeat_limit:
            return None
        return Outcome("stalled", f"stopped: the model made the same call ({what}) with the same result "
                       f"{self._streak} times in a row; it is not getting anywhere", is_error=True)


class OpenEnded(Policy):
    """No turn limit, no repeat guard, and an answer does not end the run: for a session whose
    features decide when it ends, at their hooks."""

    def __init__(self) -> None:
        super().__init__(None, repeat_limit=None)

    def after_answer(self, session: Progress, reply: Reply) -> Outcome | None:
        return None


def last_turn(entries: list[Entry]) -> tuple[tuple[str, ...], str] | None:
    """(identity of the last turn's calls and results, the calls in a few words), or None when
    the window does not end with a turn of tool calls and their results."""
    results: dict[str, str] = {}
    for entry in reversed(entries):
        message = entry.original
        if message.role == "tool":
            results[message.tool_call_id or ""] = message.content
            continue
        if message.role != "assistant" or not message.tool_calls:
            return None
        key: list[str] = []
        for call in message.tool_calls:
            if call.id not in results:
                return None
            key.append(f"{_identity(call.name, call.arguments, call.raw_arguments)}\0"
                       f"{content_hash(results[call.id])}")
        first = message.tool_calls[0]
        what = describe({"name": first.name, "arguments": first.arguments})
        more = len(message.tool_calls) - 1
        return tuple(key), what + (f" and {more} more" if more else "")
    return None


def _identity(name: str, arguments: dict[str, Any] | None, raw: str) -> str:
    args = json.dumps(arguments, sort_keys=True, ensure_ascii=False) if arguments is not None else raw
    return f"{name} {args}"
