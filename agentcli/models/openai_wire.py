"""Neutral messages as chat-completions messages, in the shape the strictest compatible servers
accept.

llama-cpp-python's server validates each message against OpenAI's published types: an assistant
message's `content` is a string or absent (never null), a tool message follows the assistant
message that made its call, and a function name is a plain identifier. So an assistant turn with
calls and no text leaves `content` out; a call the model wrote but that could not be read (no
real name) goes back as the text the model wrote, and its error as a user message after the
turn's results; every call keeps the id the server gave it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentcli.types import Message, ToolCall

# OpenAI's rule for a function's name; servers that check names check this.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def on_wire(call: ToolCall) -> bool:
    """Whether `call` can go back to a server as a tool call (rather than as text)."""
    return bool(_NAME.fullmatch(call.name))


def to_wire(messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral messages as chat-completions messages (the system prompt is not among them)."""
    out: list[dict[str, Any]] = []
    as_text: set[str] = set()  # ids of calls that went back as text: their results go as text
    pending: list[str] = []  # those results, sent once the turn's tool messages are all out
    for m in messages:
        if m.role == "tool":
            if m.tool_call_id in as_text:
                pending.append(m.content or "(empty)")
            else:
                out.append({"role": "tool", "tool_call_id": m.tool_call_id,
                            "content": m.content or "(empty)"})
            continue
        if m.role == "user":
            out.append({"role": "user", "content": "\n\n".join(pending + [m.content or "(empty)"])})
            pending = []
            continue
        _flush(out, pending)
        pending = []
        if m.role == "assistant":
            out.append(_assistant(m, as_text))
        else:
            out.append({"role": "user", "content": m.content or "(empty)"})
    _flush(out, pending)
    return out


def _assistant(m: Message, as_text: set[str]) -> dict[str, Any]:
    calls = [c for c in m.tool_calls if on_wire(c)]
    written = [c.raw_arguments or f"(a tool call that could not be read: {c.parse_error})"
               for c in m.tool_calls if not on_wire(c)]
    as_text.update(c.id for c in m.tool_calls if not on_wire(c))
    text = "\n".join(t for t in [m.content, *written] if t)
    msg: dict[str, Any] = {"role": "assistant"}
    if text:
        msg["content"] = text
    if calls:
        msg["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": c.raw_arguments if c.arguments is None
            else json.dumps(c.arguments, ensure_ascii=False)}} for c in calls]
    elif not text:
        msg["content"] = "(no answer)"
    return msg


def _flush(out: list[dict[str, Any]], pending: list[str]) -> None:
    if pending:
        out.append({"role": "user", "content": "\n\n".join(pending)})
