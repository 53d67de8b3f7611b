"""Building conversations for the steering tests: calls and their results, as the loop records them."""

from __future__ import annotations

import json

from agentcli.types import Message, ToolCall


def call(name, args, cid="c1"):
    """A call as the model made it; `args=None` is one whose arguments did not parse."""
    return ToolCall(cid, name, args, json.dumps(args) if args is not None else "{oops")


def turn(made, result="ok", is_error=False):
    """The assistant message with `made` and the tool message with its result."""
    return [Message(role="assistant", content="", tool_calls=[made]),
            Message(role="tool", content=result, tool_call_id=made.id, name=made.name,
                    is_error=is_error)]
