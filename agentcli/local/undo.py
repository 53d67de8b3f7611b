"""A change that makes the task's check worse is undone.

After each change the harness runs the task's command (verify.check_after_change). When the
result is worse than the run before the change, the file goes back to the text it had, in a
`write` the harness makes (id `call_undo_…`), and the model is told so (codemode.note): a small
model that broke a file otherwise builds its next attempts on the broken one. "Worse" means:
- it passed and now fails;
- it now fails to even load (a syntax, indentation, import or name error it did not have);
- more tests fail, or fewer pass, by the counts pytest and unittest print.
The text before the change comes from the conversation: the file as the model read it whole
(fenced.read_whole) before that change. Where it was not read whole, nothing is undone.
"""

from __future__ import annotations

import json
import re

from agentcli.local import fenced
from agentcli.local.task import CHANGE_TOOLS, current_task, task_text
from agentcli.local.verify import task_commands
from agentcli.types import Message, ToolCall

PREFIX = "call_undo_"
_LOAD_ERRORS = re.compile(r"\b(SyntaxError|IndentationError|TabError|ImportError|"
                          r"ModuleNotFoundError|NameError)\b")
_COUNT = re.compile(r"\b(\d+) (failed|passed|errors?)\b|\bFAILED \((?:failures|errors)=(\d+)")


def undo_worse(messages: list[Message]) -> ToolCall | None:
    """The `write` that takes back the last change, when the check that just ran after it came
    out worse than the run before it; else None."""
    task = current_task(messages)
    commands = task_commands(task_text(messages))
    if not commands or len(task) < 2 or task[-1].role != "tool":
        return None
    runs, change, change_at = _runs_and_last_change(task, commands)
    if change is None or change.id.startswith(PREFIX) or len(runs) < 2:
        return None
    (before_at, before), (after_at, after) = runs[-2], runs[-1]
    if after_at != len(task) - 1 or not before_at < change_at < after_at or not _worse(before, after):
        return None
    path = str((change.arguments or {}).get("path", ""))
    old = fenced.current_text(path, task[:change_at])
    if old is None:
        return None
    args = {"path": path, "content": old}
    return ToolCall(f"{PREFIX}{len(task)}", "write", args, json.dumps(args, ensure_ascii=False))


def _runs_and_last_change(task: list[Message], commands: list[str]):
    """[(index of the result, its text)] of the check's runs, and the last change that worked
    with the index of its assistant message."""
    results = {m.tool_call_id: (i, m) for i, m in enumerate(task) if m.role == "tool"}
    runs: list[tuple[int, str]] = []
    change, change_at = None, -1
    for i, m in enumerate(task):
        for c in m.tool_calls if m.role == "assistant" else ():
            at, result = results.get(c.id, (None, None))
            if result is None:
                continue
            command = str((c.arguments or {}).get("command", ""))
            if c.name == "shell" and any(k in command for k in commands):
                runs.append((at, result.content))
            elif c.name in CHANGE_TOOLS and not result.is_error:
                change, change_at = c, i
    return runs, change, change_at


def _worse(before: str, after: str) -> bool:
    passed = before.startswith("exit code: 0")
    if after.startswith("exit code: 0"):
        return False
    if passed:
        return True
    new_errors = set(_LOAD_ERRORS.findall(after)) - set(_LOAD_ERRORS.findall(before))
    if new_errors:
        return True
    b, a = _counts(before), _counts(after)
    return a["failed"] > b["failed"] or a["passed"] < b["passed"]


def _counts(text: str) -> dict[str, int]:
    counts = {"failed": 0, "passed": 0}
    for number, kind, unittest_failed in _COUNT.findall(text):
        if unittest_failed:
            counts["failed"] += int(unittest_failed)
        elif kind == "passed":
            counts["passed"] += int(number)
        else:
            counts["failed"] += int(number)
    return counts
