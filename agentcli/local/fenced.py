"""Code a small model writes in a fenced block, applied to the file it belongs in.

Asked to change a Python file, a small model often answers with the new function in a
```python block instead of an `edit` call: code inside a JSON string (every newline and quote
escaped) is the part it gets wrong. When the task asks for a change, such a block is read as
the change it describes: each top-level `def`/`class` in it replaces the one of that name in the
file the model read in this task (decorators included), definitions the file lacks are added at
its end, and imports it lacks go after its imports. The result is one `write` call of the whole
file, which the harness runs like any other call (and which is refused if it would not parse).

The same splice rescues two kinds of call the model gets wrong: an `edit` whose `old` text is
not in the file but whose `new` text is whole definitions (`def_edit`), and a `write` of a
Python file that would not parse, cut down to the whole definitions in it that do (`def_write`).

Only a file whose full text the model read in this task, and that no later call changed, is a
target: its text then comes from the conversation itself, so this stays a pure function of the
messages, like the rest of the steering.
"""

from __future__ import annotations

import ast
import os
import json
import re
import warnings

from agentcli.local.task import current_task, norm, same_path, successful_calls
from agentcli.types import Message, ToolCall

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:\n```|\Z)", re.S | re.I)
_NUMBERED = re.compile(r"^ *(\d+)\t(.*)$")
_CUT = "characters cut]"  # read shortens very long lines; such a text is not the file


def code_edit(text: str, messages: list[Message]) -> ToolCall | None:
    """A `write` that applies the fenced Python code in `text` to the file it belongs in, or
    None when there is no such block or no file it clearly belongs in."""
    block = _python_block(text)
    return _apply(*block, messages) if block is not None else None


def loose_code_edit(text: str, messages: list[Message]) -> ToolCall | None:
    """The same for a call that could not be read at all (broken JSON around good code): the
    whole top-level definitions written in it, applied as a code block would be."""
    if "\n" not in text and "\\n" in text:  # the code is still JSON-escaped
        text = text.replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t")
    text = _VALUE_START.sub("\n", text)  # `"content": "def f(…` : the def starts a line
    found = _definitions(text.splitlines())
    return _apply(*found, messages) if found is not None else None


_VALUE_START = re.compile(r'"\w+"\s*:\s*"(?=(?:async\s+def|def|class)\s)')


def _apply(tree: ast.Module, source: str, messages: list[Message]) -> ToolCall | None:
    names = [n.name for n in tree.body if isinstance(n, _DEFS)]
    if not names:
        return None
    files = _read_files(current_task(messages))
    if not files:
        return None
    if any(set(names) & _nested(t) - _defined(t) for _, t in files):
        return None  # a method written alone: which class it belongs to is a guess
    defining = [(p, t) for p, t in files if _defined(t) & set(names)]
    if defining:
        path, old = defining[0]
    elif len(files) == 1:
        path, old = files[0]  # new functions only: they go into the one file it read
    else:
        return None
    return _write(f"call_code_{len(messages)}", path, old, splice(old, tree, source))


def splice(old: str, tree: ast.Module, source: str) -> str | None:
    """`old` with the block's definitions put in place of their namesakes (or at the end) and
    its missing imports added; None if `old` itself does not parse."""
    module = _parse(old)
    if module is None:
        return None
    lines = old.splitlines()
    block_lines = source.splitlines()
    existing = {n.name: n for n in module.body if isinstance(n, _DEFS)}
    replacements: list[tuple[int, int, list[str]]] = []
    added: list[list[str]] = []
    imports: list[str] = []
    for node in tree.body:
        piece = block_lines[_start(node) - 1: node.end_lineno]
        if isinstance(node, _DEFS):
            if node.name in existing:
                target = existing.pop(node.name)
                replacements.append((_start(target) - 1, target.end_lineno, piece))
            else:
                added.append(piece)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports += [ln for ln in piece if ln.strip() and ln.strip() not in {x.strip() for x in lines}]
    for start, end, piece in sorted(replacements, reverse=True):
        lines[start:end] = piece
    for piece in added:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", "", *piece]
    if imports:
        at = _after_imports(module)
        lines[at:at] = imports
    return "\n".join(lines) + "\n"


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _python_block(text: str) -> tuple[ast.Module, str] | None:
    """The first fenced block of text that parses as Python with a top-level definition."""
    for m in _FENCE.finditer(text):
        source = m.group(1).strip("\n")
        tree = _parse(source)
        if tree is not None and any(isinstance(n, _DEFS) for n in tree.body):
            return tree, source
    return None


def _read_files(task: list[Message], suffixes: tuple[str, ...] = (".py",)) -> list[tuple[str, str]]:
    """(path, text) of the files (by default .py) read whole (or written whole) in `task` and not
    changed since, latest first."""
    results = {m.tool_call_id: m for m in task if m.role == "tool"}
    ok = {c.id for c in successful_calls(task)}
    seen: dict[str, str | None] = {}
    for m in reversed(task):
        for c in reversed(m.tool_calls) if m.role == "assistant" else ():
            path = str((c.arguments or {}).get("path", ""))
            if not path.endswith(suffixes) or norm(path) in seen or c.id not in ok:
                continue
            content = (c.arguments or {}).get("content")
            if c.name == "write" and isinstance(content, str) and content:
                seen[norm(path)] = content  # a write says the whole text
            elif c.name in ("edit", "write"):
                seen[norm(path)] = None  # changed after any read before this: that text is stale
            elif c.name == "read" and not (c.arguments or {}).get("offset"):
                seen[norm(path)] = _unnumbered(results[c.id].content) if c.id in results else None
    return [(p, t) for p, t in seen.items() if t is not None]


def _unnumbered(content: str) -> str | None:
    """The file text of a whole-file `read` result; None if it was cut or is not one."""
    out = []
    for line in content.split("\n"):
        m = _NUMBERED.match(line)
        if m is None or _CUT in line:
            return None  # a note such as "[lines 1-400 of 900; read on …]": not the whole file
        out.append(m.group(2))
    return "\n".join(out) + "\n"


def without_line_numbers(block: str) -> str:
    """A code block as the model copied it from a `read` result, line numbers and all ("     3\tx = 1"):
    the code without them. Only when every line carries one, counting up by one; else as it is."""
    lines = block.split("\n")
    found = [_NUMBERED.match(ln) for ln in lines if ln.strip()]
    if not found or None in found:
        return block
    numbers = [int(m.group(1)) for m in found if m]
    if any(b != a + 1 for a, b in zip(numbers, numbers[1:])):
        return block
    return "\n".join(m.group(2) if (m := _NUMBERED.match(ln)) else ln for ln in lines)


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like still parse
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _defined(text: str) -> set[str]:
    tree = _parse(text)
    return {n.name for n in tree.body if isinstance(n, _DEFS)} if tree else set()


def _nested(text: str) -> set[str]:
    """Names of every def and class in `text`, at any depth."""
    tree = _parse(text)
    return {n.name for n in ast.walk(tree) if isinstance(n, _DEFS)} if tree else set()


def _start(node: ast.AST) -> int:
    """The first line of a definition, its decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _after_imports(module: ast.Module) -> int:
    """The line index just after the module's leading docstring and imports."""
    at = 0
    for node in module.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (is_doc and at == 0):
            at = node.end_lineno
        else:
            break
    return at


def def_edit(call: ToolCall, messages: list[Message]) -> ToolCall | None:
    """An `edit` of a Python file whose `new` is whole definitions, as one `write` that puts
    them in place, when the edit as sent cannot work: its `old` is not in the file (small models
    copy it loosely, a docstring line left out, yet write the new function whole), or the edit
    would leave the file unable to parse (a new function put in place of a name: `def def f`).
    With `old` not found, only definitions the file has are replaced: a new name there may be
    a rename, which splicing would get wrong."""
    args = call.arguments or {}
    path, old_text, new_text = args.get("path"), args.get("old"), args.get("new")
    if call.name != "edit" or not all(isinstance(v, str) for v in (path, old_text, new_text)):
        return None
    current = _current(path, messages)
    if current is None or not old_text:
        return None
    found = old_text in current
    if found and _parse(current.replace(old_text, new_text, 1)) is not None:
        return None  # the edit works as sent
    tree = _parse(new_text.strip("\n"))
    if tree is None:
        return None
    names = {n.name for n in tree.body if isinstance(n, _DEFS)}
    if not names or (not found and not names <= _defined(current)) or not all(
            isinstance(n, (*_DEFS, ast.Import, ast.ImportFrom)) for n in tree.body):
        return None
    return _write(call.id, path, current, splice(current, tree, new_text.strip("\n")))


def def_write(call: ToolCall, messages: list[Message]) -> ToolCall | None:
    """A `write` of a Python file that would not parse, cut down to the whole definitions in it
    that do, put in place in the file as the model read it: the 1.5B garbles a module
    docstring's quotes in JSON again and again while the function it adds is fine."""
    args = call.arguments or {}
    path, content = args.get("path"), args.get("content")
    if call.name != "write" or not isinstance(path, str) or not isinstance(content, str) \
            or not path.endswith(".py") or _parse(content) is not None:
        return None
    current = _current(path, messages)
    found = _definitions(content.splitlines()) if current is not None else None
    if found is None:
        return None
    return _write(call.id, path, current, splice(current, *found))


_TOP_DEF = re.compile(r"^(?:async\s+def|def|class)\s+\w+")


def _definitions(lines: list[str]) -> tuple[ast.Module, str] | None:
    """The top-level definitions among `lines` (decorators included) that parse on their own,
    as one module and its source; None if there are none. Each is cut at the next top-level
    line, and trailing lines that break it are dropped."""
    starts = [i for i, line in enumerate(lines) if _TOP_DEF.match(line)]
    out = []
    for k, i in enumerate(starts):
        while i > 0 and lines[i - 1].startswith("@"):
            i -= 1
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        while end > 0 and lines[end - 1].startswith("@"):
            end -= 1
        piece = lines[i:end]
        for _ in range(4):  # a stray closing quote or fence after the last function
            if _parse("\n".join(piece)) is not None:
                out.append(piece)
                break
            piece = piece[:-1]
    source = "\n\n\n".join("\n".join(piece) for piece in out if piece)
    tree = _parse(source) if source else None
    return (tree, source) if tree is not None else None


def _current(path: str, messages: list[Message]) -> str | None:
    """The text of `path` as the model read it whole in this task, if nothing changed it since."""
    suffix = os.path.splitext(path)[1] or ".py"
    found = _read_files(current_task(messages), (suffix,))
    return next((t for p, t in found if same_path(p, norm(path))), None)


def _write(call_id: str, path: str, old: str, new: str | None) -> ToolCall | None:
    """A `write` of `new` over `old`, unless it changes nothing or does not parse."""
    if new is None or new == old or _parse(new) is None:
        return None
    args = {"path": path, "content": new}
    return ToolCall(call_id, "write", args, json.dumps(args, ensure_ascii=False))


_WRAPPER = re.compile(r"^\s*<tool_response>\n?|\n?</tool_response>\s*$")


def unwrap(call: ToolCall) -> ToolCall:
    """A call whose text arguments start with the `<tool_response>` tag (or end with its closer),
    copied from how results are shown: no file starts with it, so it is taken off."""
    args = call.arguments
    if call.name not in ("edit", "write") or not args:
        return call
    clean = {k: _WRAPPER.sub("", v) if isinstance(v, str) and k != "path" else v for k, v in args.items()}
    if clean == args:
        return call
    return ToolCall(call.id, call.name, clean, json.dumps(clean, ensure_ascii=False))



_REMOVAL = re.compile(r"\b(?:remove|delete|drop|strip|get rid of)\b", re.I)


def drops_code(path: str, content: str, messages: list[Message], request: str) -> str | None:
    """A whole-file write of a Python file the model read that has fewer top-level statements
    than the file (a small model rewriting a file from memory drops its `if __name__` block or a
    constant), unless the task asks to remove something."""
    if not path.endswith(".py") or _REMOVAL.search(request):
        return None
    old = _current(path, messages)
    before, after = (_parse(old), _parse(content)) if old is not None else (None, None)
    if before is None or after is None or len(after.body) >= len(before.body):
        return None
    lost = len(before.body) - len(after.body)
    return (f"this write would drop {lost} top-level statement{'s' if lost > 1 else ''} of {path} "
            "(a def, a class, an import or a block such as `if __name__ == \"__main__\":`); write "
            "the whole file, every part of it, with only what the task asks changed")

# For code mode (local/codemode.py), which rewrites a file the same way.
read_whole = _read_files
current_text = _current
parse = _parse
defined = _defined
nested = _nested
make_write = _write
