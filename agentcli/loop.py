"""The agent loop: model turn → tool calls → results → budgets and stop → compaction check.

Everything it touches belongs to the session (model chain, tools, library, policy); the loop
only decides what happens next. It returns an Outcome and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcli.models.base import ModelError

if TYPE_CHECKING:
    from agentcli.session import Session


@dataclass
class Outcome:
    """How a run of the loop ended. `stop_reason`: done, blocked, max_turns, budget, time,
    stalled, interrupted or error."""

    stop_reason: str
    result: str
    is_error: bool = False


def run(session: Session) -> Outcome:
    """Drive the model until it answers without tool calls (and the policy accepts), or a stop."""
    while True:
        stop = session.policy.before_turn(session)
        if stop is not None:
            return stop
        session.fit_context()
        try:
            reply = session.call_model()
        except ModelError as err:
            action = session.recover(err)
            if action == "retry":
                continue
            return Outcome("error", str(err), is_error=True)
        except KeyboardInterrupt as exc:
            stop = _stopped(exc)
            session.record_interrupted_reply(stop.result)
            return stop
        session.record_reply(reply)

        if reply.tool_calls:
            for i, call in enumerate(reply.tool_calls):
                try:
                    session.run_tool(call)
                except KeyboardInterrupt as exc:
                    stop = _stopped(exc)
                    session.record_interrupted_tools(reply.tool_calls[i:], stop.result)
                    return stop
            session.end_turn()
            continue

        session.end_turn()
        verdict = session.policy.after_answer(session, reply)
        if verdict is not None:
            return verdict


def _stopped(exc: KeyboardInterrupt) -> Outcome:
    """Ctrl-C, or a StopRun from `deadline` carrying its own reason (time, a SIGTERM)."""
    return Outcome(getattr(exc, "stop_reason", "interrupted"),
                   getattr(exc, "message", "interrupted by the user"), is_error=True)
