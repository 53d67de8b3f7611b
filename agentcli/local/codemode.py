"""Code mode: a small model changes a file by writing the file again, as code.

The same fix written as an `edit` call needs `old` copied exactly, inside a JSON string, from
the right one of several files on screen; small models copy the failing line from the test or
the traceback instead, and repeat it. Writing the corrected file in a ```python block is what
they do best (aider's "whole" format). So, when the task's check fails (or the model's last edit
named text the file lacks) and the file to fix was read whole, a note names that file and asks
for one sentence on what must change, then the whole file in a fenced block, and the block becomes
one `write`; the same right after the harness read the one file a change request names (pack.py),
check or no check. (The plan first, as aider's prompts ask, solved 3 of 6 bench tasks where a
reply forced to start as the file's code solved 1.)
- a block that keeps every top-level definition and as many top-level statements as the file
  is the new file;
- a block with only some definitions is spliced into the file (fenced.splice): what the model
  left out stays as it was; a result that would lose any def, class or method is not written,
  nor is a reply cut off before its closing fence;
- only files that fit a small model's reply (MAX_CHARS) and that the task asks to change (not a
  question, not a test the task is about, nothing vendored) are targets;
- an import of the file's own module is dropped (a small model copies the test's import);
- a config or data file (JSON, TOML, INI) is written whole only when it parses and keeps every
  top-level key.
Refused like any write where the task says to leave the file alone (steer.refusal).
"""

from __future__ import annotations

import configparser
import json
import os
import re

from agentcli.local import fenced
from agentcli.local.pack import PREFIX as PACK_PREFIX
from agentcli.local.steer import is_test, kept
from agentcli.local.task import (CHANGE_TOOLS, asks_for_change, current_task, last_call, norm,
                                 same_path, successful_calls, task_text)
from agentcli.local.verify import NEGATED, last_check_failing
from agentcli.types import Message, ToolCall

_HARNESS = ("call_run", "call_pack_", "call_reread_", "call_read_", "call_undo_")  # calls the harness made
_CLOSED = re.compile(r"```[ \t]*[\w+-]*[ \t]*\n(.*?)\n```", re.DOTALL)
MAX_CHARS = 3000  # a file longer than this would not fit a small model's reply (1,024 tokens)
_VENDORED = re.compile(r"(^|/)(site-packages|dist-packages|\.venv|venv|node_modules)/")
_FIX_TEST = re.compile(r"\b(?:fix|update|change|correct|repair|rewrite)\s+(?:the\s+|a\s+)?(?:failing\s+)?"
                       r"(?:tests?\b|test_\w+|\w+_test\b)", re.IGNORECASE)
_FRAME = re.compile(r'File "([^"]+)", line \d+')
# "Write a test file test_roman.py", "create a module `utils/dates.py`": a file to make.
_NEW_FILE = re.compile(r"\b(?:write|create|add|make)\b[^.?!\n]{0,40}?\b(?:file|test|tests|module|script)\b"
                       r"[^.?!\n]{0,20}?`?([\w/-]+\.py)\b", re.IGNORECASE)


def target(messages: list[Message], names: set[str] = frozenset({"write"})) -> str | None:
    """The .py file the next reply should rewrite as code, or None to decode as usual."""
    task = current_task(messages)
    if not task or task[-1].role != "tool" or "write" not in names or not asks_for_change(messages):
        return None  # a question ("why does it crash?") is answered, not fixed
    last = last_call(task)
    request = task_text(messages)
    if last is None or any(not NEGATED.search(request[:m.start()]) for m in _FIX_TEST.finditer(request)):
        return None  # the task is about the test itself ("do not change the test" is not)
    failing = last_check_failing(request, task)
    files = [p for p, t in fenced.read_whole(task, (".py", *DATA))
             if len(t) <= MAX_CHARS and not _VENDORED.search(p) and not is_test(p) and not kept(p, messages)]
    if last.name == "edit" and task[-1].is_error and "was not found" in task[-1].content:
        path = norm(str((last.arguments or {}).get("path", "")))
        return next((p for p in files if norm(p) == path), None)  # its edit missed: the file as code
    if not last.id.startswith(_HARNESS):
        return None
    named = [p for p in files if re.search(rf"(?<![\w.-]){re.escape(os.path.basename(p))}(?!\w)", request)]
    if failing is None and not _said_fails(task):
        # No failing check: code mode right after the harness read the file the task names.
        return named[0] if last.id.startswith(PACK_PREFIX) and len(named) == 1 else None
    frames = [norm(f) for f in _FRAME.findall(failing[1] if failing else "") if not _VENDORED.search(f)]
    in_trace = [p for f in reversed(frames) for p in files if norm(p) == f or f.endswith("/" + norm(p))]
    ranked = in_trace + named + (files if len(files) == 1 else [])  # where it broke, first
    return ranked[0] if ranked else None


def new_file(messages: list[Message], outline: list[str]) -> str | None:
    """The .py file a task asks to create ("write a test file test_roman.py"), right after the
    harness's first reads, when the project has no such file (`outline`) and none was written."""
    task = current_task(messages)
    last = last_call(task) if task and task[-1].role == "tool" else None
    m = _NEW_FILE.search(task_text(messages))
    if last is None or not last.id.startswith(_HARNESS) or m is None:
        return None
    path = norm(m.group(1))
    if any(same_path(norm(f), path) for f in outline) or any(
            c.name in CHANGE_TOOLS and same_path(norm(str((c.arguments or {}).get("path", ""))), path)
            for c in successful_calls(task)):
        return None
    return path


def write_new(text: str, path: str, n: int) -> ToolCall | None:
    """The `write` creating `path` from the reply's closed ```python block, when it parses."""
    blocks = [fenced.without_line_numbers(m.group(1)) for m in _CLOSED.finditer(text)]
    source = blocks[0].strip("\n") + "\n" if blocks else ""
    if not source.strip() or fenced.parse(source) is None:
        return None
    args = {"path": path, "content": source}
    return ToolCall(f"call_code_{n}", "write", args, json.dumps(args, ensure_ascii=False))


def _said_fails(task: list[Message]) -> bool:
    """The task said its command fails (the harness ran it first), and nothing changed since: it
    may exit 0 with the wrong output ("stops early"), which only the task's words say is wrong."""
    ok = successful_calls(task)
    return any(c.id.startswith("call_run_first") for c in ok) and not any(c.name in CHANGE_TOOLS for c in ok)


def _language(path: str) -> str:
    return DATA[os.path.splitext(path)[1]][0] if not path.endswith(".py") else "python"


def note(path: str, messages: list[Message]) -> str:
    """What the model is asked for in code mode: the failure in a line, then the file to fix."""
    task = current_task(messages)
    last_id = str(task[-1].tool_call_id) if task and task[-1].role == "tool" else ""
    failing = last_check_failing(task_text(messages), task)
    outputs = [m.content for m in task if m.role == "tool" and m.content.startswith("exit code:")]
    if last_id.startswith("call_undo_"):
        head = "Your last change made it worse, so it was undone: the file is as it was before it. "
    elif len(outputs) >= 2 and outputs[-1] == outputs[-2] and last_id.startswith("call_run_"):
        head = "Your last change did not fix it: the result is the same. "
    else:
        head = ""
    if failing is not None:
        command, out = failing
        head += f"`{command}` still fails: …{out[-240:]} "
    if fenced.current_text(path, messages) is None:  # a file to create
        return (f"First say in one sentence what {path} must hold. Then write it: reply with the whole "
                f"of {path} in one ```{_language(path)} block. Change no other file.\nThe task: "
                + task_text(messages))
    head += f"First say in one sentence what must change in {path} and where. Then: "
    return head + (f"Do it now in {path}. Reply with the whole new {path} in one ```{_language(path)} "
                   "block: every line of the file, with what the task asks changed or added. "
                   f"Change no other file.\nThe task: {task_text(messages)}")


def write(text: str, path: str, messages: list[Message], *, whole: bool = True) -> ToolCall | None:
    """The `write` that the code block in `text` means for `path`, or None when there is no
    closed block (a reply cut at the output limit is never written), it does not parse, it
    changes nothing, or it would lose a definition, method or top-level statement of the file.
    `whole=False` (the model was not asked for the whole file) only splices definitions."""
    old = fenced.current_text(path, messages)
    blocks = [fenced.without_line_numbers(m.group(1)) for m in _CLOSED.finditer(text)]
    if old is None or not blocks:
        return None
    if not path.endswith(".py"):
        return _data_write(blocks[0].strip("\n") + "\n", path, old, len(messages)) if whole else None
    source = _without_self_import(blocks[0].strip("\n") + "\n", path)
    tree, before = fenced.parse(source), fenced.parse(old)
    if tree is None or before is None:
        return None
    kept_all = fenced.defined(old) <= fenced.defined(source) and len(tree.body) >= len(before.body)
    new = source if whole and kept_all else fenced.splice(old, tree, source)
    if new is None or not fenced.nested(old) <= fenced.nested(new) or _same_code(old, new):
        return None  # a class with fewer methods than it has, or the file copied out unchanged
    return fenced.make_write(f"call_code_{len(messages)}", path, old, new)


def _data_write(new: str, path: str, old: str, n: int) -> ToolCall | None:
    """A config or data file written whole: only when it parses and keeps every top-level key
    (a small model that drops the rest of a config breaks the program quietly). A block with
    only the part that changes (one TOML table, some JSON keys: what small models write) is
    merged into the file instead: its values replace the file's, the rest stays as it was."""
    ext = os.path.splitext(path)[1]
    _, keys = DATA[ext]
    before, after = keys(old), keys(new)
    if before is not None and after is not None and not before <= after:
        new = (_merged_json if ext == ".json" else _merged_lines)(old, new) or new
        after = keys(new)
    if before is None or after is None or not before <= after or _same_code(old, new):
        return None
    args = {"path": path, "content": new}
    return ToolCall(f"call_code_{n}", "write", args, json.dumps(args, ensure_ascii=False))


_SECTION = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:[#;].*)?$")
_KEY_LINE = re.compile(r"^\s*([\w.\"'-]+)\s*[=:]")


def _merged_lines(old: str, part: str) -> str | None:
    """TOML or INI: each `key = value` line of `part` replaces the line of the same key in the
    same table of `old`; None when none matched."""
    wanted: dict[tuple[str, str], str] = {}
    section = ""
    for line in part.splitlines():
        if (m := _SECTION.match(line)) is not None:
            section = m.group(1)
        elif (k := _KEY_LINE.match(line)) is not None:
            wanted[(section, k.group(1))] = line.strip()
    out, section, hits = [], "", 0
    for line in old.splitlines():
        if (m := _SECTION.match(line)) is not None:
            section = m.group(1)
        elif (k := _KEY_LINE.match(line)) is not None and (section, k.group(1)) in wanted:
            line, hits = line[: len(line) - len(line.lstrip())] + wanted[(section, k.group(1))], hits + 1
        out.append(line)
    return "\n".join(out) + "\n" if hits else None


def _merged_json(old: str, part: str) -> str | None:
    """JSON: the keys of `part` set in `old` (nested objects merged), written with the file's
    indent; None unless both are objects and one object of `old` (the top, or a nested one when
    `part` left out the nesting) holds every key of `part`."""
    try:
        base, update = json.loads(old), json.loads(part)
    except ValueError:
        return None
    if not isinstance(base, dict) or not isinstance(update, dict):
        return None

    def merge(into: dict, changes: dict) -> dict:
        return {**into, **{k: merge(into[k], v) if isinstance(v, dict) and isinstance(into.get(k), dict)
                           else v for k, v in changes.items()}}

    def holders(node: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """Where an object holding every key of `update` sits (a block written without its nesting)."""
        if not isinstance(node, dict):
            return []
        here = [path] if set(update) <= set(node) else []
        return here + [p for k, v in node.items() for p in holders(v, path + (k,))]

    where = holders(base)
    if len(where) != 1:
        return None  # keys the file does not have, or have in several places: not a merge to guess
    for key in reversed(where[0]):
        update = {key: update}
    indent = re.search(r"\n([ \t]+)\S", old)
    return json.dumps(merge(base, update), indent=indent.group(1) if indent else 2, ensure_ascii=False) + "\n"


def _same_code(old: str, new: str) -> bool:
    """The same text but for blank lines and spacing: a copy, not a change."""
    return old.split() == new.split()


def _json_keys(text: str) -> set[str] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return set(data) if isinstance(data, dict) else set()


def _toml_keys(text: str) -> set[str] | None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: no parser to check it with, so no rewrite
        return None
    try:
        return set(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return None


def _ini_keys(text: str) -> set[str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return {f"{s}.{k}" for s in parser.sections() for k in parser[s]}


# The data files code mode rewrites whole: their fence language and their top-level keys.
DATA = {".json": ("json", _json_keys), ".toml": ("toml", _toml_keys), ".ini": ("ini", _ini_keys),
        ".cfg": ("ini", _ini_keys)}


def _without_self_import(source: str, path: str) -> str:
    module = re.escape(os.path.splitext(os.path.basename(path))[0])
    own = re.compile(rf"^(?:from\s+{module}\s+import\s+.*|import\s+{module}\s*)$")
    return "\n".join(ln for ln in source.split("\n") if not own.match(ln.strip()))
