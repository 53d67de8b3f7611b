"""How the harness steers a small model, decided from the conversation alone.

Small models fail in a few typical ways, each with its own remedy:
- they answer from imagination instead of looking: the first turn of a task starts with the
  tool-call opener already written, so the model only picks the tool and its arguments;
- they write a call that cannot be read: the loop tells them exactly what was wrong; if the
  retry after that fails too, the call is decoded under a JSON grammar of the tools (last resort);
- they repeat a call whose answer they already have: the call is sent back with a note saying
  so, and if they insist, the tool-call token is banned so they have to answer in words;
- they answer before anything they looked at worked, or describe a change instead of making it:
  the answer is sent back once with a note saying so, and the model has to call a tool;
- they edit or overwrite a file they have not read, from memory: the harness reads it first;
- when they are stuck (an answer without facts, a repeated call) and the task names a file they
  have not read, the harness reads that file for them instead of asking again;
- they answer right after an edit without checking it: if the task names a command, the harness
  runs it and shows them the result.

Everything here is a pure function of the messages, so a resumed session or a model that takes
over mid-session is steered the same way.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from agentcli.local.task import CHANGE_TOOLS, asks_for_change, is_change_request  # noqa: F401
from agentcli.local.task import current_task, task_text  # noqa: F401 - part of this module's API
from agentcli.local.task import norm as _norm, same_path as _same_path
from agentcli.local.task import successful_calls as _successful_calls
from agentcli.local import fenced
from agentcli.local.verify import last_check_failing
from agentcli.types import Message, ToolCall


@dataclass
class Plan:
    """How to decode the next reply."""

    force_call: bool = False  # start the reply with the tool-call opener
    grammar: bool = False  # constrain the call to the tools' JSON schemas


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


def repeats(call: ToolCall, messages: list[Message]) -> str | None:
    """Whether `call` (same tool, same arguments) was already made in this task: "ok" if it
    told the model something, "failed" if it failed or found nothing, None if it is new."""
    if call.arguments is None:
        return None
    key = _key(call.name, call.arguments)
    task = current_task(messages)
    ok = {c.id for c in _successful_calls(task)}
    same = [c for m in task if m.role == "assistant" for c in m.tool_calls
            if c.arguments is not None and _key(c.name, c.arguments) == key]
    if not same:
        return None
    if any(c.id in ok for c in same):
        return "ok"
    return "failed" if len(same) < 2 else "failed again"  # made twice already and never worked


def reread(call: ToolCall, messages: list[Message]) -> ToolCall | None:
    """A fresh `read` of the file an `edit` failed on, when the model sends that same edit again
    and has not looked at the file since it first failed: it edits from a picture of the file
    that is wrong. Once: after that, the repeat rules apply."""
    path = (call.arguments or {}).get("path")
    if call.name != "edit" or not isinstance(path, str):
        return None
    task = current_task(messages)
    ok = {c.id for c in _successful_calls(task)}
    key = _key(call.name, call.arguments)
    last_read = first_fail = -1
    for i, m in enumerate(task):
        for c in m.tool_calls if m.role == "assistant" else ():
            if c.name == "read" and c.id in ok and _same_path(_norm(str((c.arguments or {}).get(
                    "path", ""))), _norm(path)):
                last_read = i
            elif c.arguments is not None and _key(c.name, c.arguments) == key and c.id not in ok \
                    and first_fail < 0:
                first_fail = i
    if first_fail < 0 or last_read > first_fail:
        return None
    args = {"path": path}
    return ToolCall(f"call_reread_{len(messages)}", "read", args, json.dumps(args, ensure_ascii=False))


def failed_repeat_note(call: ToolCall, messages: list[Message]) -> str:
    """What the model is told when it repeats a call that failed or found nothing."""
    task = current_task(messages)
    ids = {c.id for m in task if m.role == "assistant" for c in m.tool_calls
           if c.arguments is not None and _key(c.name, c.arguments) == _key(call.name, call.arguments or {})}
    result = next((m.content for m in reversed(task) if m.role == "tool" and m.tool_call_id in ids), "")
    args = json.dumps(call.arguments, ensure_ascii=False)
    return (f"You already called {call.name} with {args} and it gave: {result[:300]}\n"
            "Calling it again gives the same. Make a different call: other arguments or another "
            f"tool (grep with only a pattern searches every file).\nThe task: {task_text(messages)}")


def repeat_note(call: ToolCall, messages: list[Message], *, insist: bool = False) -> str:
    """What the model is told when it repeats a call: the task again, and what to do next."""
    task = task_text(messages)
    if insist:
        return ("The tool results above have what you need. Do not call a tool. Answer now in one "
                f"or two sentences.\nThe task: {task}")
    args = json.dumps(call.arguments, ensure_ascii=False)
    return (f"You already have the result of {call.name} {args} above; do not call it again.\n"
            f"The task: {task}\nUsing that result, take the next step now: if you can answer, "
            "answer in one or two sentences; otherwise call a different tool.")


_SHELL_WRITES = re.compile(r"\bsed\b[^|;&]*\s-i|>|\btee\b|\bmv\b|\bcp\b|\bperl\b[^|;&]*\s-i")


def wants_change(note: str) -> bool:
    """Whether a note from `answer_note` asks for a change (so only edit or write will do)."""
    return note.startswith((CHANGE_NOTE, "Your change to ", "Your answer names "))


CHANGE_NOTE = ("You have not changed any file yet, but the task asks for a change. Make it now "
               "with edit (or write), then check it.")


def answer_note(messages: list[Message], answer: str) -> str | None:
    """Why a final answer is premature, as a note for the model; None when it may stand."""
    task = current_task(messages)
    ok = _successful_calls(task)
    request = task_text(messages)
    if not re.search(r"\w", answer) and task:  # empty, or only brackets left by a broken call
        return ("Your reply was empty. Continue the task: take the next step with a tool, or, if "
                f"it is done, say what you found or changed.\nThe task: {request}")
    said = answer.strip()
    if said and task and any(m.role == "assistant" and m.content.strip() == said for m in task):
        return (f"Your reply repeats an earlier message word for word ({said[:80]!r}); it is no "
                f"answer. Answer the task from the tool results above.\nThe task: {request}")
    unseen = _unseen_values(answer, request, task)
    if unseen and ok:
        return (f"Your answer says {unseen[0]}, but no tool result above shows {unseen[0]}. Do not "
                "guess: find where the value is defined (grep for its name, then read the file) and "
                f"answer from what the file says.\nThe task: {request}")
    if not ok and any(m.role == "tool" for m in task):
        return ("None of your tool calls has worked yet, so you do not know the answer. Do not "
                "guess: look at the file list in the system prompt and call a tool with a real path."
                f"\nThe task: {request}")
    if ok and change_pending(messages):
        return CHANGE_NOTE + f"\nThe task: {request}"
    broken = _unrepaired_changes(task)
    if broken:
        path, error = broken[0]
        return (f"Your change to {path} failed and was not made: {error[:300]}\nMake that change "
                f"now (read the file again if you need its exact text), then answer.\nThe task: {request}")
    failing = last_check_failing(request, task)
    if failing:
        command, result = failing
        return (f"The task is not done: `{command}` still fails ({result[:300]}). Fix the cause "
                f"in the file with edit, run `{command}` again, then answer.\nThe task: {request}")
    if ok and _COUNTING.search(request) and not _NUMBER.search(answer):
        return ("The task asks for a number, and your answer gives none. The tool results above "
                f"show the items (with how many there are): answer with the number.\nThe task: {request}")
    claimed = _claimed_but_unchanged(answer, request, task)
    if claimed:
        return (f"Your answer names {claimed} as changed, but no edit or write of {claimed} "
                f"succeeded in this task. Change it now (read it first if you need its exact "
                f"text), then answer.\nThe task: {request}")
    return None


def unchanged_target(messages: list[Message], answer: str) -> ToolCall | None:
    """A `read` of the file the answer says it changed (or whose change failed) when no change
    of it worked, for an answer the harness cannot send back again: instead of ending on a false
    "done", the model gets the file in front of it once more. Not twice in a row."""
    task = current_task(messages)
    path = _claimed_but_unchanged(answer, task_text(messages), task) or next(
        (p for p, _ in _unrepaired_changes(task)), None)
    if path is None:
        return None
    last = next((c for m in reversed(task) if m.role == "assistant" for c in m.tool_calls), None)
    if last is not None and last.name == "read" and _same_path(
            _norm(str((last.arguments or {}).get("path", ""))), _norm(path)):
        return None
    args = {"path": path}
    return ToolCall(f"call_again_{len(messages)}", "read", args, json.dumps(args, ensure_ascii=False))


_COUNTING = re.compile(r"\bhow many\b|\b(?:give|answer with|what is) the (?:number|count|total)\b", re.I)
_NUMBER = re.compile(r"\d|\b(?:zero|none|no|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     r"twelve)\b", re.I)


def _claimed_but_unchanged(answer: str, request: str, task: list[Message]) -> str | None:
    """A file the answer names as changed (in a task that asks for a change) that no successful
    edit or write touched: small models report the change they meant to make."""
    if not is_change_request(request):
        return None
    changed = [_norm(str((c.arguments or {}).get("path", ""))) for c in _successful_calls(task)
               if c.name in CHANGE_TOOLS]
    if not changed:
        return None  # change_pending says what to do
    for path in dict.fromkeys(_PATHISH.findall(answer)):
        target = _norm(path)
        if not any(_same_path(d, target) for d in changed):
            return path
    return None


def _unrepaired_changes(task: list[Message]) -> list[tuple[str, str]]:
    """Files whose last edit or write in this task failed: (path, the error)."""
    errors = {m.tool_call_id: m.content for m in task if m.role == "tool" and m.is_error}
    last: dict[str, str | None] = {}
    for m in task:
        for c in m.tool_calls if m.role == "assistant" else ():
            path = (c.arguments or {}).get("path")
            if c.name in CHANGE_TOOLS and isinstance(path, str):
                last[_norm(path)] = errors.get(c.id)
    return [(p, e.removeprefix("error: ")) for p, e in last.items() if e]


# Values small models like to make up: numbers of three or more digits, versions, decimals.
_VALUE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)+|\d{3,})(?![\w.]*\w)")


def _unseen_values(answer: str, request: str, task: list[Message]) -> list[str]:
    """Values in the answer that neither the task nor any tool result contains."""
    seen = request + "\n".join(m.content for m in task if m.role == "tool")
    seen += "\n".join(json.dumps(c.arguments) for m in task for c in m.tool_calls if c.arguments)
    return [v for v in dict.fromkeys(_VALUE.findall(answer)) if v not in seen]


def change_pending(messages: list[Message]) -> bool:
    """The task asks for a change and no call in it has changed a file yet."""
    request = task_text(messages)
    if not is_change_request(request):
        return False
    return not any(c.name in ("edit", "write") or (c.name == "shell" and _SHELL_WRITES.search(
        str((c.arguments or {}).get("command", "")))) for c in _successful_calls(current_task(messages)))


def read_first(call: ToolCall, messages: list[Message]) -> ToolCall | None:
    """A `read` of the file an `edit` or `write` targets, when the model has not looked at it in
    this task. Small models edit from memory and miss, and `write` over a file they never saw
    throws its other contents away; reading first shows them what is there (or that it is new).
    """
    if call.name not in ("edit", "write") or not isinstance((call.arguments or {}).get("path"), str):
        return None
    target = _norm(call.arguments["path"])
    task = current_task(messages)
    looked = [c for m in task if m.role == "assistant" for c in m.tool_calls if c.name == "read"]
    looked += [c for c in _successful_calls(task) if c.name in ("write", "edit")]
    for c in looked:
        seen = _norm(str((c.arguments or {}).get("path", "")))
        if _same_path(seen, target):
            return None
    args = {"path": call.arguments["path"]}
    return ToolCall(call.id, "read", args, json.dumps(args, ensure_ascii=False))


# "Do not change the test", "don't modify config.json": files the user said to leave alone.
_KEEP = re.compile(r"\b(?:do not|don't|never|without)\s+(?:change|chang|modify|edit|touch|alter|"
                   r"rewrite|overwrite)\w*\s+(?:the\s+|any\s+)?(tests?\b|[\w./-]+\.\w+)", re.I)


def kept(path: str, messages: list[Message]) -> bool:
    """Whether the task says to leave `path` alone ("don't change roman.py", "do not touch the tests")."""
    return _keeping(path, messages) is not None


def _keeping(path: str, messages: list[Message]) -> re.Match[str] | None:
    """The words of the task that keep `path` as it is, if any."""
    for m in _KEEP.finditer(task_text(messages)):
        named = m.group(1)
        if (named.lower() in ("test", "tests") and is_test(path)) or _same_path(_norm(path), _norm(named)):
            return m
    return None


def refusal(call: ToolCall, messages: list[Message]) -> str | None:
    """Why a call a small model made would do harm, or None: a change to a file the task says
    to leave alone; `write` with no content over a file it has read (it means to change the
    file, and would empty it)."""
    args = call.arguments or {}
    path = str(args.get("path", ""))
    keeping = _keeping(path, messages) if call.name in CHANGE_TOOLS else None
    if keeping is not None:
        test = keeping.group(1).lower() in ("test", "tests")
        return (f'the task says "{keeping.group(0)}", so {path} was left as it is; '
                + ("change the code it tests instead" if test else "change another file"))
    if call.name == "write" and str(args.get("content", "")).strip():
        return fenced.drops_code(path, str(args["content"]), messages, task_text(messages))
    if call.name != "write":
        return None
    target = _norm(str(args.get("path", "")))
    for c in _successful_calls(current_task(messages)):
        if c.name == "read" and _norm(str((c.arguments or {}).get("path", ""))) == target:
            return (f"write with empty content would erase {args.get('path')}; to change part of "
                    "a file, use edit with the exact old text and the new text")
    return None


def is_test(path: str) -> bool:
    """A test file, by the names test runners look for."""
    name = os.path.basename(path)
    return name.startswith("test_") or name.endswith(("_test.py", ".test.js", ".test.ts", ".spec.ts")) \
        or "/tests/" in "/" + _norm(path) + "/" or name == "tests.py"


_EXTENSIONS = ("py|pyi|ipynb|js|jsx|ts|tsx|mjs|json|jsonl|md|rst|txt|cfg|conf|toml|yaml|yml|ini|env|"
               "sh|bash|go|rs|java|kt|c|h|cc|cpp|hpp|cs|rb|php|swift|html|css|scss|sql|csv|xml|lock")
_PATHISH = re.compile(rf"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+(?:\.[\w-]+)*\.(?:{_EXTENSIONS}))(?![\w/])")


def read_mentioned(messages: list[Message], files: list[str] = ()) -> ToolCall | None:
    """A `read` for a small model that is stuck (answering without facts, repeating itself): the
    first file the task names that it has not read, then a project file (from `files`, the
    outline it was shown) that the files it read name, else the project file whose path shares
    the most words with the task."""
    task = current_task(messages)
    request = task_text(messages)
    # A read that found no file counts as done too: asking again for it gets nowhere.
    missing = {m.tool_call_id for m in task if m.role == "tool" and m.is_error
               and "argument" not in m.content}
    done = {_norm(str((c.arguments or {}).get("path", ""))) for m in task if m.role == "assistant"
            for c in m.tool_calls if c.name in ("read", "write")
            and (c.id in missing or c in _successful_calls(task))}

    def unread(path: str) -> bool:
        return not any(_same_path(d, _norm(path)) for d in done)

    mentioned = list(dict.fromkeys(_PATHISH.findall(request)))
    named = [p for p in mentioned if unread(p)]
    if mentioned and not named:
        # It has read every file the task names. Another file is a distraction, unless what it
        # read names it (report.py loads readings.json, where the key it wants is spelled).
        seen = "\n".join(m.content for m in task if m.role == "tool" and not m.is_error)
        leads = [f for f in files if unread(f) and re.search(
            rf"(?<![\w.-]){re.escape(os.path.basename(f))}(?![\w-])", seen)]
        named = leads[:1]
        if not named:
            return None
    words = {w for w in re.findall(r"[a-z0-9]{3,}", request.lower())}
    scored = sorted(((sum(1 for part in re.split(r"[/._-]", f.lower()) if len(part) >= 3 and any(
        w.startswith(part) or part.startswith(w) for w in words)), f) for f in files if unread(f)),
        key=lambda sf: -sf[0])
    likely = [f for score, f in scored if score > 0]
    for path in named + ([] if mentioned else likely[:1]):
        args = {"path": path}
        return ToolCall(f"call_read_{len(messages)}", "read", args, json.dumps(args, ensure_ascii=False))
    return None


def outline_files(system: str) -> list[str]:
    """The paths listed under "# Files in the project" in a system prompt (see local.lean)."""
    return [ln.strip() for ln in _outline_lines(system) if ln.strip() and not ln.startswith("…")]


def outline_complete(system: str) -> bool:
    """Whether the outline lists every file of the project (lean.outline cuts a long one)."""
    lines = _outline_lines(system)
    return bool(lines) and not any(ln.startswith("…") for ln in lines)


def _outline_lines(system: str) -> list[str]:
    _, found, rest = system.partition("# Files in the project\n")
    return rest.split("\n\n", 1)[0].splitlines() if found else []


def _key(name: str, arguments: dict[str, Any]) -> str:
    """What makes two calls the same call (an edit sent with replace_all flipped is the same)."""
    args = {k: v for k, v in arguments.items() if k != "replace_all"}
    return name + json.dumps(args, sort_keys=True, ensure_ascii=False)
