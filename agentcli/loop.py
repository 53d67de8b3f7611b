"""The agent loop: model turn → tool calls → results → stop checks, with named hook points.

The loop takes its collaborators through the `Turns` protocol (the session owns the model
chain, the tools, the context and the archive) and decides only what happens next. Features
act at the hook points, in the order they registered:

- `before_turn()`: may return an Outcome to stop (the stop policy: turn limits, repeats,
  budgets, stalls);
- `before_request()`: shape the context before the model is asked (compaction);
- `after_reply(reply)`: a recorded reply;
- `after_tool(call, result)`: a recorded tool result;
- `after_answer(reply)`: a reply without tool calls; may return an Outcome to stop (the stop
  policy: done, or go on).

A feature (an unattended run, a reproduction's phase) plugs into a session through `Host`:
the hook points, and the few things it may change besides.

It returns an Outcome and never prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from agentcli.models.base import Model, ModelError
from agentcli.types import Outcome, Reply, ToolCall, ToolResult, Usage

POINTS = ("before_turn", "before_request", "after_reply", "after_tool", "after_answer")


class Hooks:
    """What runs at each named point of a turn. A hook that returns an Outcome (before_turn,
    after_answer) ends the run; later hooks at that point do not run."""

    def __init__(self) -> None:
        self._at: dict[str, list[Callable[..., Outcome | None]]] = {p: [] for p in POINTS}

    def on(self, point: str, fn: Callable[..., Outcome | None]) -> None:
        if point not in self._at:
            raise ValueError(f"no hook point {point!r}; the points: {', '.join(POINTS)}")
        self._at[point].append(fn)

    def call(self, point: str, *args: Any) -> Outcome | None:
        for fn in self._at[point]:
            outcome = fn(*args)
            if outcome is not None:
                return outcome
        return None


class StopPolicy(Protocol):
    """When the run ends: before each turn, and when the model answers without calls."""

    def before_turn(self, session: Any, /) -> Outcome | None: ...

    def after_answer(self, session: Any, reply: Reply, /) -> Outcome | None: ...


class Host(Protocol):
    """What a feature may read and change of the session it plugs into (a `plug(host)` method
    by convention). It reads what the session used and on which model; it changes what runs at
    the hook points, the conversation (a user message, at a hook), the tools the model is
    offered, notes in the system prompt, the services its tools reach (`ToolContext.services`),
    paths the agent must not write, and the deadline model and tool calls keep."""

    hooks: Hooks

    @property
    def usage(self) -> Usage: ...

    @property
    def cost(self) -> float | None: ...

    @property
    def model(self) -> Model: ...

    @property
    def emit(self) -> Callable[..., Any]: ...

    def add_user(self, text: str, /) -> None: ...

    def add_tools(self, tools: Mapping[str, Callable[..., Any]], /) -> None: ...

    def add_note(self, text: str, /) -> None: ...

    def provide(self, name: str, service: Any, /) -> None: ...

    def protect(self, path: Path, /) -> None: ...

    def set_deadline(self, at: float | None, /) -> None: ...


class Turns(Protocol):
    """What the loop drives: the turns of one session (agentcli.session.Session), which owns the
    model chain, the tools, the context and the archive, and the hooks features registered."""

    hooks: Hooks

    def call_model(self) -> Reply: ...

    def recover(self, err: ModelError) -> str: ...

    def record_reply(self, reply: Reply) -> None: ...

    def record_interrupted_reply(self, partial: str) -> None: ...

    def run_tool(self, call: ToolCall) -> ToolResult: ...

    def record_interrupted_tools(self, calls: list[ToolCall], why: str) -> None: ...

    def end_turn(self) -> None: ...


def run(session: Turns) -> Outcome:
    """Drive the model until it answers without tool calls (and the policy accepts), or a stop."""
    hooks = session.hooks
    while True:
        stop = hooks.call("before_turn")
        if stop is not None:
            return stop
        hooks.call("before_request")
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
        hooks.call("after_reply", reply)

        if reply.tool_calls:
            for i, call in enumerate(reply.tool_calls):
                try:
                    result = session.run_tool(call)
                except KeyboardInterrupt as exc:
                    stop = _stopped(exc)
                    session.record_interrupted_tools(reply.tool_calls[i:], stop.result)
                    return stop
                hooks.call("after_tool", call, result)
            session.end_turn()
            continue

        session.end_turn()
        verdict = hooks.call("after_answer", reply)
        if verdict is not None:
            return verdict


def _stopped(exc: KeyboardInterrupt) -> Outcome:
    """Ctrl-C, or a StopRun from `deadline` carrying its own reason (time, a SIGTERM)."""
    return Outcome(getattr(exc, "stop_reason", "interrupted"),
                   getattr(exc, "message", "interrupted by the user"), is_error=True)
