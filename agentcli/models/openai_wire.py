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


# How a small model's steering (models.base.ReplySteering) is written out on this wire: what a
# server can be asked for in place of the token masks the bundled model decodes under.
CALL_OPEN, CALL_CLOSE = "<tool_call>\n", "</tool_call>"  # the form the rules read calls in


def steered_params(params: dict[str, Any], mode: str, note: str | None, only: tuple[str, ...], *,
                   tool_choice: bool = True) -> dict[str, Any]:
    """`params` asked for in `mode`: the note as the last user message; words: without the tools;
    call and grammar: a forced tool choice (the one tool of `only`, else any of its tools, else
    any); free and code: nothing more. `tool_choice` False: the server refuses it, so the note
    alone asks."""
    out = dict(params)
    messages = list(params["messages"])
    if mode == "words":
        messages = _flattened(messages)
    if note:
        last = messages[-1] if messages else {}
        if last.get("role") == "user" and isinstance(last.get("content"), str):
            # one user turn, not two in a row, which strict chat templates refuse
            messages[-1] = {**last, "content": last["content"] + "\n\n" + note}
        else:
            messages.append({"role": "user", "content": note})
    out["messages"] = messages
    if mode == "words":
        # The bundled model's call tokens are masked here; a server's cannot be, and servers
        # that render the tools into the prompt ignore tool_choice "none": it is shown neither
        # the tools nor calls to copy (the conversation's calls and results are plain text).
        out.pop("tools", None)
        out.pop("tool_choice", None)
        return out
    tools = params.get("tools")
    if not tool_choice or not tools:
        return out
    if mode in ("call", "grammar"):
        named = [t for t in tools if t["function"]["name"] in only]
        if len(named) == 1:
            out["tool_choice"] = {"type": "function", "function": {"name": named[0]["function"]["name"]}}
        else:
            out["tool_choice"] = "required"
            out["tools"] = named or tools
    return out


def _flattened(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with its tool calls and results written as plain turns (a call as the
    assistant's words, its result as the user's), adjacent turns of one role joined."""
    out: list[dict[str, Any]] = []
    for m in messages:
        role, text = m.get("role"), m.get("content") or ""
        if role == "tool":
            role, text = "user", f"The result of that call:\n{text}"
        elif role == "assistant" and m.get("tool_calls"):
            calls = [f"I called {c['function']['name']} {c['function'].get('arguments') or '{}'}"
                     for c in m["tool_calls"]]
            text = "\n".join(([text] if text else []) + calls)
        if not isinstance(text, str):
            return messages  # content in parts: left as it is
        if out and out[-1]["role"] == role and role != "system":
            out[-1] = {"role": role, "content": out[-1]["content"] + "\n\n" + text}
        else:
            out.append({"role": role, "content": text})
    return out


def raw_text(message: Message) -> str:
    """A reply as the steering reads it: its text, then each call the server parsed written as
    `<tool_call>` JSON; arguments that were not JSON are kept as they came, so the call reads as
    broken."""
    parts = [message.content or ""]
    for c in message.tool_calls:
        if c.arguments is not None:
            body = json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
        else:
            body = '{"name": ' + json.dumps(c.name) + ', "arguments": ' + (c.raw_arguments or "") + "}"
        parts.append(f"{CALL_OPEN}{body}\n{CALL_CLOSE}")
    return "\n".join(p for p in parts if p)
