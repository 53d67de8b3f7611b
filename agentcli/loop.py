"""The agent loop: model turn → tool calls → results → budgets and stop → compaction check.

Everything it touches belongs to the session (model chain, tools, library, policy); the loop
only decides what happens next. It returns an Outcome and never prints.
"""

from __future__ import annotations

from typing import Any, Protocol

from agentcli.models.base import ModelError
from agentcli.types import Outcome, Reply, ToolCall


class StopPolicy(Protocol):
    """When the run ends: before each turn, and when the model answers without calls."""

    def before_turn(self, session: Any, /) -> Outcome | None: ...

    def after_answer(self, session: Any, reply: Reply, /) -> Outcome | None: ...


class Turns(Protocol):
    """What the loop drives: the turns of one session (agentcli.session.Session), which owns the
    model chain, the tools, the context and the archive."""

    policy: StopPolicy

    def fit_context(self) -> None: ...

    def call_model(self) -> Reply: ...

    def recover(self, err: ModelError) -> str: ...

    def record_reply(self, reply: Reply) -> None: ...

    def record_interrupted_reply(self, partial: str) -> None: ...

    def run_tool(self, call: ToolCall) -> Any: ...

    def record_interrupted_tools(self, calls: list[ToolCall], why: str) -> None: ...

    def end_turn(self) -> None: ...



def run(session: Turns) -> Outcome:
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
