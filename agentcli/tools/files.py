"""`read`, `write` and `edit`: text files in the workspace, written atomically."""

from __future__ import annotations

import ast
import contextlib
import difflib
import json
import os
import re
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any

from agentcli.tools.context import ToolContext, ToolError
from agentcli.tools.output import is_binary
from agentcli.types import ToolResult

DEFAULT_LIMIT, LEAN_LIMIT = 2000, 400
MAX_LINE_CHARS = 2000
MAX_READ_CHARS, LEAN_MAX_READ_CHARS = 100_000, 16_000
MAX_WRITE_BYTES = 10 * 1024 * 1024
MAX_LOAD_BYTES = 64 * 1024 * 1024


def read(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = ctx.workspace.resolve(args["path"])
    text = _load(path, args["path"])
    lines = text.splitlines()
    offset = max(1, int(args.get("offset") or 1))
    limit = max(1, int(args.get("limit") or (LEAN_LIMIT if ctx.lean else DEFAULT_LIMIT)))
    budget = LEAN_MAX_READ_CHARS if ctx.lean else MAX_READ_CHARS
    if not lines:
        return ToolResult("(empty file)", meta={"path": ctx.workspace.display(path), "lines": 0})
    if offset > len(lines):
        raise ToolError(f"offset {offset} is past the end of the file ({len(lines)} lines)")
    out: list[str] = []
    used = 0
    last = offset - 1
    for number in range(offset, min(len(lines), offset - 1 + limit) + 1):
        line = lines[number - 1]
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f" […{len(line) - MAX_LINE_CHARS} characters cut]"
        entry = f"{number:>6}\t{line}"
        if used + len(entry) > budget and out:
            break
        out.append(entry)
        used += len(entry) + 1
        last = number
    if last < len(lines):
        out.append(f"[lines {offset}-{last} of {len(lines)}; read on with offset={last + 1}]")
    meta = {"path": ctx.workspace.display(path), "lines": len(lines), "range": [offset, last]}
    return ToolResult("\n".join(out), meta=meta)


def write(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = ctx.workspace.resolve(args["path"], write=True)
    content: str = args["content"]
    if len(content.encode("utf-8", errors="replace")) > MAX_WRITE_BYTES:
        raise ToolError(f"content is larger than {MAX_WRITE_BYTES // (1024 * 1024)} MB")
    if path.is_dir():
        raise ToolError(f"{args['path']} is a folder")
    old = _load(path, args["path"], exact=True) if path.exists() else None
    if old is not None and _uses_crlf(old):
        content = _to_crlf(content)  # keep a Windows file's line endings
    content, broken = _parse_check(path, old, content, ctx, f"not written: the new {args['path']}",
                                   "send the whole file again, corrected")
    if not ctx.approve("write", ctx.workspace.display(path)):
        raise ToolError(f"the user declined the write to {args['path']}")
    _atomic_write(path, content)
    shown = ctx.workspace.display(path)
    verb = "created" if old is None else "overwrote"
    meta = {"path": shown, "diff": _diff(old or "", content, shown), "created": old is None}
    return ToolResult(f"{verb} {shown} ({len(content.splitlines())} lines)" + _warning(shown, broken),
                      meta=meta)


def edit(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = ctx.workspace.resolve(args["path"], write=True)
    old, new = args["old"], args["new"]
    if not path.exists():
        raise ToolError(f"no such file: {args['path']} (use write to create it)")
    text = _load(path, args["path"], exact=True)
    if old == "":
        raise ToolError("`old` is empty; give the exact text to replace")
    if old == new:
        raise ToolError("`old` and `new` are the same; nothing would change")
    if _uses_crlf(text):
        # `read` shows lines without their \r; match and write with the file's own endings.
        old, new = _to_crlf(old), _to_crlf(new)
    count = text.count(old)
    if count == 0:
        if "\ufffd" in old and _undecodable(text):
            raise ToolError(f"`old` holds \ufffd, which `read` shows for bytes of {args['path']} that "
                            "are not UTF-8; edit the text around them (they are kept as they are)")
        raise ToolError(f"`old` was not found in {args['path']}" + _near_miss(text, old))
    if count > 1 and not args.get("replace_all"):
        raise ToolError(f"`old` appears {count} times in {args['path']}; include more surrounding "
                        "lines to make it unique, or set replace_all to true")
    updated = text.replace(old, new) if args.get("replace_all") else text.replace(old, new, 1)
    updated, broken = _parse_check(path, text, updated, ctx, f"not edited: with this change {args['path']}",
                                   "the file is unchanged")
    if not ctx.approve("write", ctx.workspace.display(path)):
        raise ToolError(f"the user declined the edit of {args['path']}")
    _atomic_write(path, updated)
    shown = ctx.workspace.display(path)
    first_line = text[: text.index(old)].count("\n") + 1
    replaced = "every occurrence" if count > 1 else "1 occurrence"
    meta = {"path": shown, "diff": _diff(text, updated, shown), "line": first_line}
    return ToolResult(f"edited {shown}: replaced {replaced} (from line {first_line})"
                      + _warning(shown, broken), meta=meta)


def _parse_check(path: Path, before: str | None, after: str, ctx: ToolContext, what: str,
                 advice: str) -> tuple[str, str | None]:
    """(the text to write, what is wrong with it or None). For a small model a change that
    would not parse is refused, after mending a docstring's cut quotes if that is all it is."""
    broken = _breaks(path, before, after)
    if broken and ctx.lean:
        after, broken = _mend_docstrings(path, before, after, broken)
        if broken:
            raise ToolError(f"{what} would not parse ({broken}); {advice}")
    return after, broken


def _breaks(path: Path, before: str | None, after: str) -> str | None:
    """What is wrong when a change leaves a Python or JSON file that parsed (or was new) unable
    to parse; None when it parses, or was already broken, or is another kind of file."""
    check = _PARSERS.get(path.suffix.lower())
    if check is None or (before is not None and check(before) is not None):
        return None
    return check(after)


_TWO_QUOTES = re.compile(r'(?<!["\\])""(?!")(?=[^\s,)\]}:])|(?<=[^\s(\[{=,"])""(?!")(?=\s*$)', re.M)


def _mend_docstrings(path: Path, before: str | None, after: str, broken: str) -> tuple[str, str | None]:
    """Small models writing code inside JSON often cut a docstring's \"\"\" to two quotes
    (\"\"Text.\"\"): put the third back when that, and only that, makes the file parse."""
    if path.suffix.lower() not in (".py", ".pyi"):
        return after, broken
    mended = _TWO_QUOTES.sub('"""', after)
    if mended == after or _breaks(path, before, mended) is not None:
        return after, broken
    # Mended quotes can also turn code into one long string: every `def`/`class` written at the
    # start of a line must still be a definition of the module.
    written = set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", after, re.M))
    defined = {n.name for n in ast.parse(mended).body
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return (mended, None) if written <= defined else (after, broken)


def _python_problem(text: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like still parse
            ast.parse(text)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        shown = (exc.text or "").strip()
        return f"SyntaxError {where}{exc.msg}" + (f": {shown[:120]}" if shown else "")
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"not Python: {exc}"
    return None


def _json_problem(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        json.loads(text)
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    except RecursionError:
        return "invalid JSON: nested too deep"
    return None


_PARSERS = {".py": _python_problem, ".pyi": _python_problem, ".json": _json_problem}


def _warning(shown: str, broken: str | None) -> str:
    return f"\nwarning: {shown} no longer parses ({broken}); fix it before going on" if broken else ""


def _uses_crlf(text: str) -> bool:
    crlf = text.count("\r\n")
    return crlf > 0 and crlf >= text.count("\n") - crlf


def _to_crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _load(path: Path, shown: str, *, exact: bool = False) -> str:
    """The file's text. `exact` (for edit and write): bytes that are not UTF-8 become lone
    surrogates that `_atomic_write` turns back into the same bytes, so no byte is lost; else
    they show as \ufffd."""
    if path.is_dir():
        raise ToolError(f"{shown} is a folder; use glob or shell `ls` to list it")
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ToolError(f"no such file: {shown}") from None
    except OSError as exc:
        raise ToolError(f"cannot read {shown}: {exc.strerror or exc}") from None
    # A pipe or a device would block or never end; a huge file would fill the memory.
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{shown} is not a regular file (a pipe, socket or device); not read")
    if info.st_size > MAX_LOAD_BYTES:
        raise ToolError(f"{shown} is {info.st_size // (1024 * 1024)} MB, more than read and edit take "
                        f"({MAX_LOAD_BYTES // (1024 * 1024)} MB); use grep, or shell with head/sed -n")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ToolError(f"no such file: {shown}") from None
    except OSError as exc:
        raise ToolError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if is_binary(data):
        raise ToolError(f"{shown} is a binary file ({len(data)} bytes); not shown")
    return data.decode("utf-8", errors="surrogateescape" if exact else "replace")


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _printable(text: str) -> str:
    """`text` from `_load(exact=True)` with its undecodable bytes shown as \ufffd (diffs, results)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _undecodable(text) else text


def _atomic_write(path: Path, content: str) -> None:
    """Write through a temp file and rename, so a crash never leaves half a file. The file keeps
    its mode (and owner, where allowed); a new file gets the mode the umask gives."""
    try:
        data = content.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # JSON can carry a lone surrogate ("\ud800"): no byte stands for it
        raise ToolError(f"not written: the text for {path.name} holds a lone surrogate, which is "
                        "not a character; send it without") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        st = path.stat() if path.exists() else None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, st.st_mode & 0o7777 if st else 0o666 & ~_umask())
            owner = (os.geteuid(), os.getegid()) if hasattr(os, "geteuid") else None
            if st is not None and owner and (st.st_uid, st.st_gid) != owner:
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.chown(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ToolError(f"cannot write {path.name}: {exc.strerror or exc}") from None


def _umask() -> int:
    """This process's umask, read without setting it (os.umask would, for a moment, for every
    thread); where /proc has no Umask line, set and put back."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _diff(old: str, new: str, name: str) -> str:
    old, new = _printable(old), _printable(new)
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{name}", f"b/{name}", n=2)
    return "".join(lines)[:20_000]


def _near_miss(text: str, old: str) -> str:
    """Say where the closest text is, since a near miss is usually whitespace or a stale read."""
    first = old.strip().splitlines()[0].strip() if old.strip() else ""
    if not first:
        return ""
    for number, line in enumerate(text.splitlines(), 1):
        if first in line:
            return (f"; its first line appears at line {number}, so the difference is in the "
                    "lines after it or in whitespace. Read the file again and copy the text exactly")
    return "; read the file again and copy the text exactly"
