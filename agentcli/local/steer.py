"""How the harness steers a small model, decided from the conversation alone.

Small models fail in a few typical ways, each with its own remedy:
- they answer from imagination instead of looking: the first turn of a task starts with the
  tool-call opener already written, so the model only picks the tool and its arguments;
- they write a call that cannot be read: the loop tells them exactly what was wrong; if the
  retry after that fails too, the call is decoded under a JSON grammar of the tools (last resort);
- they repeat a call whose answer they already have: the call is sent back with a note saying
  so, and if they insist, the tool-call token is banned so they have to answer in words.

Everything here is a pure function of the messages, so a resumed session or a model that takes
over mid-session is steered the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentcli.types import Message, ToolCall, ToolSpec

# The order small models see the tools in: they lean towards the first ones listed.
LEAN_ORDER = ("read", "grep", "glob", "edit", "write", "shell")


@dataclass
class Plan:
    """How to decode the next reply."""

    force_call: bool = False  # start the reply with the tool-call opener
    grammar: bool = False  # constrain the call to the tools' JSON schemas


def current_task(messages: list[Message]) -> list[Message]:
    """The messages after the last user prompt: the work done on the current task so far."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return messages[i + 1:]
    return list(messages)


def plan(messages: list[Message], tool_names: set[str], *, ground_first: bool = True) -> Plan:
    """Decide how to decode the next reply."""
    task = current_task(messages)
    if not task:
        return Plan(force_call=ground_first and bool(messages) and messages[-1].role == "user")
    failures = _trailing_failed_calls(task, tool_names)
    if failures >= 2:
        return Plan(force_call=True, grammar=True)
    if failures == 1:
        return Plan(force_call=True)
    return Plan()


def unusable(call: ToolCall, tool_names: set[str]) -> bool:
    """A call that cannot run at all: unreadable arguments, or a tool that does not exist."""
    return call.arguments is None or call.name not in tool_names


def _trailing_failed_calls(task: list[Message], tool_names: set[str]) -> int:
    """How many of the last assistant turns in a row made a call that could not be used."""
    count = 0
    for m in reversed(task):
        if m.role != "assistant":
            continue
        if m.tool_calls and all(unusable(c, tool_names) for c in m.tool_calls):
            count += 1
        else:
            break
    return count


def repeats(call: ToolCall, messages: list[Message]) -> bool:
    """Whether `call` (same tool, same arguments) was already made in this task: its result,
    or its error, is already in the conversation."""
    if call.arguments is None:
        return False
    key = _key(call.name, call.arguments)
    return any(c.arguments is not None and _key(c.name, c.arguments) == key
               for m in current_task(messages) if m.role == "assistant" for c in m.tool_calls)


def repeat_note(call: ToolCall, messages: list[Message], *, insist: bool = False) -> str:
    """What the model is told when it repeats a call: the task again, and what to do next."""
    task = _task_text(messages)
    if insist:
        return ("The tool results above have what you need. Do not call a tool. Answer now in one "
                f"or two sentences.\nThe task: {task}")
    args = json.dumps(call.arguments, ensure_ascii=False)
    return (f"You already have the result of {call.name} {args} above; do not call it again.\n"
            f"The task: {task}\nUsing that result, take the next step now: if you can answer, "
            "answer in one or two sentences; otherwise call a different tool.")


def _task_text(messages: list[Message], limit: int = 1500) -> str:
    prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return prompt if len(prompt) <= limit else prompt[:limit] + "…"


def order_tools(tools: list[ToolSpec]) -> list[ToolSpec]:
    """Tools in the order small models use best (readers first, the shell last)."""
    rank = {name: i for i, name in enumerate(LEAN_ORDER)}
    return sorted(tools, key=lambda t: rank.get(t.name, len(rank)))


def call_schema(tools: list[ToolSpec], lean: bool) -> dict[str, Any]:
    """A JSON schema that only a valid call of one of `tools` satisfies."""
    return {"anyOf": [{
        "type": "object",
        "properties": {"name": {"const": t.name}, "arguments": _strict(t.schema(lean))},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    } for t in tools]}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "additionalProperties": False}


def _key(name: str, arguments: dict[str, Any]) -> str:
    return name + json.dumps(arguments, sort_keys=True, ensure_ascii=False)
