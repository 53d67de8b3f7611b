"""A change that makes the task's check worse is undone.

After each change the harness runs the task's command (verify.check_after_change). When the
result is worse than the run of the same command before the change, the file goes back to the
text it had, in a `write` the harness makes (id `call_undo_…`), and the model is told so
(codemode.note): a small model that broke a file otherwise builds its next attempts on the broken
one. "Worse" means:
- it now fails to even load (a syntax, indentation, import or name error it did not have);
- it passed and now raises (a traceback; a chosen exit status such as `sys.exit(2)` is not worse);
- more tests fail, or fewer pass, by the counts pytest and unittest print.
The text before the change comes from the conversation: the file as the model read (or wrote) it
whole before that change, at exactly that path. Nothing is undone where that text is unknown, or
where a shell command other than the check ran in the task (it may have changed the file). The
same change is not accepted again once undone (`was_undone`).
"""

from __future__ import annotations

import json
import re

from agentcli.local import fenced
from agentcli.local.task import CHANGE_TOOLS, current_task, norm, task_text
from agentcli.local.verify import task_commands
from agentcli.types import Message, ToolCall

PREFIX = "call_undo_"
MAX_UNDOS = 3  # per task: past this, the model's change stands and the check's output speaks
_LOAD_ERRORS = re.compile(r"\b(SyntaxError|IndentationError|TabError|ImportError|"
                          r"ModuleNotFoundError|NameError)\b")
_PYTEST = re.compile(r"\b(\d+) (failed|passed|errors?)\b")
_UNITTEST = re.compile(r"\b(failures|errors)=(\d+)")


def undo_worse(messages: list[Message]) -> ToolCall | None:
    """The `write` that takes back the last change, when the check that just ran after it came
    out worse than the run of the same command before it; else None."""
    task = current_task(messages)
    commands = task_commands(task_text(messages))
    if not commands or len(task) < 2 or task[-1].role != "tool" or _undos(task) >= MAX_UNDOS:
        return None
    history = _history(task, commands)
    if history is None:
        return None
    runs, change, change_at = history
    if change is None or change.id.startswith(PREFIX) or not runs or runs[-1][0] != len(task) - 1:
        return None
    _, command, after = runs[-1]
    # The baseline: the last run of the same command before the change, not one of a state that
    # was itself undone (the file went back to what the run before that saw).
    undo_at = {i for i, m in enumerate(task) if m.role == "assistant"
               and any(c.id.startswith(PREFIX) for c in m.tool_calls)}
    before = [out for at, cmd, out in runs[:-1]
              if cmd == command and at < change_at and _next_turn(task, at) not in undo_at]
    if not before or not _worse(before[-1], after):
        return None
    path = str((change.arguments or {}).get("path", ""))
    old = next((t for p, t in fenced.read_whole(task[:change_at]) if norm(p) == norm(path)), None)
    if old is None:
        return None
    args = {"path": path, "content": old}
    return ToolCall(f"{PREFIX}{len(messages)}", "write", args, json.dumps(args, ensure_ascii=False))


def _next_turn(task: list[Message], at: int) -> int:
    """The index of the first assistant message after `at` (-1 if none)."""
    return next((j for j in range(at + 1, len(task)) if task[j].role == "assistant"), -1)


def was_undone(call: ToolCall, messages: list[Message]) -> bool:
    """Whether `call` writes the same content as a change the harness already took back."""
    if call.name != "write":
        return False
    task = current_task(messages)
    undone_after = {i for i, m in enumerate(task) if m.role == "assistant"
                    and any(c.id.startswith(PREFIX) for c in m.tool_calls)}
    writes = [(i, c) for i, m in enumerate(task) if m.role == "assistant" for c in m.tool_calls
              if c.name == "write" and not c.id.startswith(PREFIX)]
    return any(c.arguments == call.arguments and any(u > i for u in undone_after) for i, c in writes)


def _undos(task: list[Message]) -> int:
    return sum(1 for m in task if m.role == "assistant" for c in m.tool_calls if c.id.startswith(PREFIX))


def _history(task: list[Message], commands: list[str]):
    """([(index of the result, command, its text)] of the check's runs, the last change that
    worked, the index of its assistant message); None when another shell command ran."""
    results = {m.tool_call_id: (i, m) for i, m in enumerate(task) if m.role == "tool"}
    runs: list[tuple[int, str, str]] = []
    change, change_at = None, -1
    for i, m in enumerate(task):
        for c in m.tool_calls if m.role == "assistant" else ():
            at, result = results.get(c.id, (None, None))
            if result is None:
                continue
            command = str((c.arguments or {}).get("command", "")).strip()
            if c.name == "shell" and not any(k in command for k in commands):
                return None  # it may have changed files: the text from before is not known
            if c.name == "shell":
                runs.append((at, command, result.content))
            elif c.name in CHANGE_TOOLS and not result.is_error:
                change, change_at = c, i
    return runs, change, change_at


def _worse(before: str, after: str) -> bool:
    if after.startswith("exit code: 0"):
        return False
    if set(_LOAD_ERRORS.findall(after)) - set(_LOAD_ERRORS.findall(before)):
        return True
    b, a = _counts(before), _counts(after)
    if before.startswith("exit code: 0"):
        return "Traceback (most recent call last)" in after or a["failed"] > b["failed"]
    return a["failed"] > b["failed"] or a["passed"] < b["passed"]


def _counts(text: str) -> dict[str, int]:
    counts = {"failed": 0, "passed": 0}
    for number, kind in _PYTEST.findall(text):
        counts["passed" if kind == "passed" else "failed"] += int(number)
    for _, number in _UNITTEST.findall(text):
        counts["failed"] += int(number)
    return counts
