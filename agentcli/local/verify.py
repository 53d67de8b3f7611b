"""Checks the harness runs for a small model: the task's own command, before and after a change.

Only a checking command the task itself names in backticks (run a script, run the tests) is ever
run for the model, never one it says not to run: the harness must never deploy, publish or delete.
"""

from __future__ import annotations

import json
import re

from agentcli.local.task import (CHANGE_TOOLS, current_task, is_change_request, last_call, successful_calls,
                                 task_text)
from agentcli.types import Message, ToolCall

# Commands that check work (run a script or the tests), as the task writes them in backticks. Only
# these are run for the model: the harness must never run a deploy, a publish or a delete.
_COMMAND = re.compile(r"`((?:python3?\s+(?:-m\s+pytest\b|-m\s+unittest\b|[\w./-]+\.py\b)|pytest\b|"
                      r"node\s+[\w./-]+\.m?js\b|(?:npm|yarn|pnpm)\s+(?:run\s+)?test\b|go\s+test\b|"
                      r"cargo\s+test\b|make\s+(?:test|check)\b|ruby\s+[\w./-]+\.rb\b)[^`\n;&|>]*)`")
NEGATED = re.compile(r"(?:don't|do not|never|without|avoid|not)\W+(?:\w+\W+){0,3}$", re.I)


def run_mentioned(messages: list[Message]) -> ToolCall | None:
    """The command the task names (`python3 main.py`), when files were changed since it last
    ran: a small model that answers right after an edit has not checked it, so the harness
    runs it and shows the model the result."""
    task = current_task(messages)
    request = task_text(messages)
    commands = task_commands(request)
    ok = successful_calls(task)
    edits = [i for i, c in enumerate(ok) if c.name in ("edit", "write")]
    if not commands or not edits:
        return None
    command = commands[0].strip()
    runs = [i for i, c in enumerate(ok) if c.name == "shell"
            and command in str((c.arguments or {}).get("command", ""))]
    if runs and runs[-1] > edits[-1]:
        return None
    args = {"command": command}
    return ToolCall(f"call_run_{len(messages)}", "shell", args, json.dumps(args, ensure_ascii=False))


def check_after_change(messages: list[Message]) -> ToolCall | None:
    """The task's command, right after a change to a file worked: check, then answer. A small
    model that is not shown the result goes on editing a file that already works, or stops on
    one that does not."""
    task = current_task(messages)
    if not task or task[-1].role != "tool" or task[-1].is_error:
        return None
    last = last_call(task)
    if last is None or last.name not in CHANGE_TOOLS or last.id.startswith("call_undo_"):
        return None  # an undo puts back the text that gave the run before: no need to run it
    return run_mentioned(messages)


def check_passed_note(messages: list[Message]) -> str | None:
    """When the last result is the task's own command succeeding after a change, a reminder to
    look at its output and answer: small models go on editing a file that already works."""
    task = current_task(messages)
    if not task or task[-1].role != "tool" or task[-1].is_error:
        return None
    request = task_text(messages)
    commands = task_commands(request)
    last = last_call(task)
    ok = successful_calls(task)
    if last is None or last.name != "shell" or not commands or not any(c.name in CHANGE_TOOLS for c in ok):
        return None
    command = str((last.arguments or {}).get("command", ""))
    if not any(c in command for c in commands) or not task[-1].content.startswith("exit code: 0"):
        return None
    return (f"`{command}` now runs without an error (exit code 0). If its output above is what the "
            "task asks for, the task is done: answer now in one or two sentences, naming the change "
            f"you made. Change more only if the output is still wrong.\nThe task: {request}")


def check_failing(messages: list[Message]) -> bool:
    """The task's own command failed the last time it ran: only a change helps now (a re-run or
    an answer does not)."""
    return last_check_failing(task_text(messages), current_task(messages)) is not None


def last_check_failing(request: str, task: list[Message]) -> tuple[str, str] | None:
    """(command, its result) when the last run of the task's own checking command failed."""
    commands = task_commands(request)
    if not commands:
        return None
    results = {m.tool_call_id: m for m in task if m.role == "tool"}
    for m in reversed(task):
        for c in reversed(m.tool_calls if m.role == "assistant" else []):
            command = str((c.arguments or {}).get("command", ""))
            if c.name == "shell" and any(k in command for k in commands) and c.id in results:
                out = results[c.id].content
                return None if out.startswith("exit code: 0") else (command, " ".join(out.split()))
    return None


def task_commands(request: str) -> list[str]:
    """The checking commands the task names in backticks, leaving out any it says not to run."""
    found = _COMMAND.finditer(request)
    return [m.group(1).strip() for m in found if not NEGATED.search(request[:m.start()])]


_FAILS = re.compile(r"\b(?:fail\w*|crash\w*|errors?|exceptions?|raises|traceback|breaks|broken|"
                   r"stops early|wrong|hangs|does not work|doesn't work)\b", re.I)


def run_first(messages: list[Message]) -> ToolCall | None:
    """The command the task says fails, run before anything else: a small model that starts by
    reading guesses at the bug; the error shows it where to look (the first step of any fix)."""
    request = task_text(messages)
    if current_task(messages) or not is_change_request(request) or not _FAILS.search(request):
        return None  # a question about a command, or one that is not said to fail: not run
    commands = task_commands(request)
    if not commands:
        return None
    args = {"command": commands[0].strip()}
    return ToolCall(f"call_run_first_{len(messages)}", "shell", args, json.dumps(args, ensure_ascii=False))


# "Rename `a` to `b`", "bump the version from 1.4.2 to 1.5.0": what must be gone when done.
_PAIR = re.compile(r"`([^`\n]{2,80})`\s+(?:to|with|into|by)\s+`([^`\n]{1,80})`")
_FROM_TO = re.compile(r"\bfrom\s+`?([\w.\-]{2,80}?)`?\s+to\s+`?([\w.\-]{1,80}?)`?(?=[\s.,;:!?]|$)")


def replaced_text(request: str) -> tuple[str, str] | None:
    """(old, new) of a replace-everywhere request ("rename `a` to `b`", "from 1.4.2 to 1.5.0")."""
    m = _PAIR.search(request) or _FROM_TO.search(request)
    return (m.group(1), m.group(2)) if m else None


def leftovers(messages: list[Message]) -> ToolCall | None:
    """A search for the text a replace-everywhere task replaces, when the model answers after
    changing files without having searched for it since: small models stop after the first
    file. The search shows what is left (or that nothing is)."""
    request = task_text(messages)
    m = _PAIR.search(request) or _FROM_TO.search(request)
    if m is None or m.group(1) in m.group(2):
        return None  # the new text holds the old: a search would never come back empty
    task = current_task(messages)
    ok = successful_calls(task)
    ok_ids = {c.id for c in ok if c.name in CHANGE_TOOLS}
    old = m.group(1)
    pattern = (r"\b" if old[0].isalnum() or old[0] == "_" else "") + re.escape(old) + \
        (r"\b" if old[-1].isalnum() or old[-1] == "_" else "")
    searched = [i for i, c in enumerate(task) if c.role == "assistant" and any(
        t.name == "grep" and old in str((t.arguments or {}).get("pattern", "")).replace("\\", "")
        for t in c.tool_calls)]
    last_edit = max((i for i, msg in enumerate(task) if msg.role == "assistant" and any(
        t.id in ok_ids for t in msg.tool_calls)), default=-1)
    if last_edit < 0 or (searched and searched[-1] > last_edit):
        return None
    args = {"pattern": pattern}
    return ToolCall(f"call_left_{len(messages)}", "grep", args, json.dumps(args, ensure_ascii=False))
