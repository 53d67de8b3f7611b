"""The stop policy of unattended runs: budgets, stalls and a declared finish end the run; an
answer without `finish` does not. The decisions live in `UnattendedRun`; this is the seam the
loop calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcli.policy import Policy
from agentcli.types import Outcome, Reply

if TYPE_CHECKING:
    from agentcli.session import Session
    from agentcli.unattended.run import UnattendedRun


class UnattendedPolicy(Policy):
    """Delegates to the run it is bound to (`bind`) once the session exists."""

    def __init__(self) -> None:
        super().__init__(None)
        self.run: UnattendedRun | None = None

    def bind(self, run: UnattendedRun) -> None:
        self.run = run

    def before_turn(self, session: Session) -> Outcome | None:
        assert self.run is not None, "UnattendedPolicy used before bind()"
        return self.run.before_turn()

    def after_answer(self, session: Session, reply: Reply) -> Outcome | None:
        assert self.run is not None, "UnattendedPolicy used before bind()"
        return self.run.after_answer(reply.message.content)
