"""Code mode: a small model fixes a Python file by writing the file again, as code.

The same fix written as an `edit` call needs `old` copied exactly, inside a JSON string, from
the right one of several files on screen; small models copy the failing line from the test or
the traceback instead, and repeat it. Writing the corrected file in a ```python block is what
they do best (aider's "whole" format). So, when the task's check fails (or the model's last edit
named text the file lacks) and the file to fix was read whole, the next reply is decoded as code,
with a note naming that file, and the block becomes one `write`:
- a block that keeps every top-level definition of the file (or a file without any, a script)
  is the new file;
- a block with only some definitions is spliced into the file (fenced.splice): what the model
  left out stays as it was, so a partial answer never deletes code;
- an import of the file's own module is dropped (a small model copies the test's import).
Refused like any write where the task says to leave the file alone (steer.refusal).
"""

from __future__ import annotations

import os
import re

from agentcli.local import fenced
from agentcli.local.steer import is_test
from agentcli.local.task import CHANGE_TOOLS, current_task, norm, same_path, successful_calls, task_text
from agentcli.local.verify import last_check_failing
from agentcli.types import Message, ToolCall

CODE_OPEN = "```python\n"
_HARNESS = ("call_run", "call_pack_", "call_reread_", "call_read_", "call_undo_")  # calls the harness made
_BLOCK = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL | re.IGNORECASE)
_FRAME = re.compile(r'File "([^"]+)", line \d+')


def target(messages: list[Message]) -> str | None:
    """The .py file the next reply should rewrite as code, or None to decode as usual."""
    task = current_task(messages)
    if not task or task[-1].role != "tool":
        return None
    last = next((c for m in reversed(task) if m.role == "assistant" for c in m.tool_calls
                 if c.id == task[-1].tool_call_id), None)
    if last is None:
        return None
    request = task_text(messages)
    failing = last_check_failing(request, task)
    missed = last.name == "edit" and task[-1].is_error and "was not found" in task[-1].content
    # The task said its command fails (the harness ran it first); it may still exit 0 with the
    # wrong output ("stops early"), which only the task's words say is wrong.
    said_fails = any(c.id == "call_run_first" for c in successful_calls(task)) and not any(
        c.name in CHANGE_TOOLS for c in successful_calls(task))
    if not missed and not (last.id.startswith(_HARNESS) and (failing is not None or said_fails)):
        return None
    files = [p for p, _ in fenced.read_whole(task) if not is_test(p)]
    if missed:
        path = str((last.arguments or {}).get("path", ""))
        return next((p for p in files if same_path(p, norm(path))), None)
    named = [p for p in files if re.search(rf"(?<![\w.-]){re.escape(os.path.basename(p))}(?!\w)", request)]
    frames = [norm(f) for f in _FRAME.findall(failing[1] if failing else "")]
    in_trace = [p for f in reversed(frames) for p in files if same_path(p, f) or f.endswith("/" + p)]
    ranked = in_trace + named + (files if len(files) == 1 else [])  # where it broke, first
    return ranked[0] if ranked else None


def opening(path: str, messages: list[Message]) -> str:
    """The start of a code-mode reply: the fence and the file's first line, so the model goes on
    writing that file (left to itself, it may write out the test it was shown last)."""
    text = fenced.current_text(path, messages) or ""
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    return CODE_OPEN + (first + "\n" if first else "")


def note(path: str, messages: list[Message]) -> str:
    """What the model is asked for in code mode."""
    task = current_task(messages)
    undone = bool(task) and task[-1].role == "tool" and str(task[-1].tool_call_id).startswith("call_undo_")
    return ("Your last change made it worse, so it was undone: the file is as it was before it. "
            if undone else "") + (f"Fix it now in {path}. Reply with the whole corrected {path} in one ```python block: "
            "every line of the file, with the lines that cause the problem changed. Change no "
            "other file.")


def write(text: str, path: str, messages: list[Message]) -> ToolCall | None:
    """The `write` that the code block in `text` means for `path`, or None when there is no
    block, it does not parse, or it changes nothing."""
    old = fenced.current_text(path, messages)
    blocks = [m.group(1) for m in _BLOCK.finditer(text)]
    if old is None or not blocks:
        return None
    source = _without_self_import(blocks[0].strip("\n") + "\n", path)
    tree = fenced.parse(source)
    if tree is None:
        return None
    kept = fenced.defined(old)
    new = source if kept <= fenced.defined(source) else fenced.splice(old, tree, source)
    return fenced.make_write(f"call_code_{len(messages)}", path, old, new)


def _without_self_import(source: str, path: str) -> str:
    module = re.escape(os.path.splitext(os.path.basename(path))[0])
    own = re.compile(rf"^(?:from\s+{module}\s+import\s+.*|import\s+{module}\s*)$")
    return "\n".join(ln for ln in source.split("\n") if not own.match(ln.strip()))
