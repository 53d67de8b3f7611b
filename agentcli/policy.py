"""When the loop stops: turn limits, and what a final answer means.

The interactive and the plain headless session use `Policy`: an answer without tool calls ends
the run. Unattended runs swap in a policy that checks budgets and continues until done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcli.loop import Outcome
from agentcli.types import Reply

if TYPE_CHECKING:
    from agentcli.session import Session


class Policy:
    """Stop after `max_turns` model calls (None: no limit); accept any final answer."""

    def __init__(self, max_turns: int | None = None):
        self.max_turns = max_turns
        self._turns_at_start: int | None = None

    def before_turn(self, session: Session) -> Outcome | None:
        if self._turns_at_start is None:
            self._turns_at_start = session.turns
        used = session.turns - self._turns_at_start
        if self.max_turns is not None and used >= self.max_turns:
            return Outcome("max_turns", f"stopped after {used} turns without a final answer "
                           f"(--max-turns {self.max_turns})", is_error=True)
        return None

    def after_answer(self, session: Session, reply: Reply) -> Outcome | None:
        return Outcome("done", reply.message.content)

    def reset(self) -> None:
        """Count turns afresh (each prompt in a chat gets the full limit)."""
        self._turns_at_start = None
