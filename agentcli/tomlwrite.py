"""Writing one table of a TOML file, leaving the rest of the file (comments included) as it was.

agentcli writes its user config in two places only (`agentcli mcp add`, `agentcli trust`), each
a whole table: `set_table` replaces that table's lines, or appends it. Values are the few kinds
those tables hold: strings, numbers, booleans, lists of strings, and tables of strings.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*\[")


def key(part: str) -> str:
    """A key as TOML writes it: bare where it can be, else a quoted string."""
    return part if _BARE.match(part) else json.dumps(part)


def value(v: Any) -> str:
    """One value in TOML syntax (JSON's string escapes are TOML's basic-string escapes)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(str(k))} = {value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def table_text(path: list[str], values: dict[str, Any]) -> str:
    header = "[" + ".".join(key(p) for p in path) + "]"
    return "\n".join([header, *(f"{key(k)} = {value(v)}" for k, v in values.items() if v is not None)]) + "\n"


def set_table(file: Path, path: list[str], values: dict[str, Any] | None) -> None:
    """Write table `path` (e.g. ["mcp_servers", "docs"]) into `file` with `values`, replacing the
    table and its sub-tables where they are; None removes them. Written atomically, mode 0600
    (the file can hold tokens). The caller parses the file first: this does not mend a bad one."""
    text = file.read_text(encoding="utf-8") if file.exists() else ""
    lines = text.splitlines(keepends=True)
    kept, dropping = [], False
    for line in lines:
        if _HEADER.match(line):
            dropping = _inside(line, path)
        if not dropping:
            kept.append(line)
    out = "".join(kept).rstrip("\n")
    if values is not None:
        out = (out + "\n\n" if out else "") + table_text(path, values)
    elif out:
        out += "\n"
    _write(file, out)


def _inside(header_line: str, path: list[str]) -> bool:
    """Whether a `[a.b.c]` or `[[a.b]]` header names `path` or a table below it."""
    inner = header_line.strip().strip("[]").strip()
    parts = _split_key(inner)
    return parts is not None and parts[:len(path)] == path


def _split_key(dotted: str) -> list[str] | None:
    """`a."b.c".d` -> ["a", "b.c", "d"]; None where it is not a key this module understands."""
    parts, rest = [], dotted.strip()
    while rest:
        if rest[0] in "\"'":
            quote = rest[0]
            end = rest.find(quote, 1)
            while quote == '"' and end > 0 and rest[end - 1] == "\\":
                end = rest.find(quote, end + 1)
            if end < 0:
                return None
            raw = rest[:end + 1]
            parts.append(json.loads(raw) if quote == '"' else raw[1:-1])
            rest = rest[end + 1:].strip()
        else:
            m = re.match(r"[A-Za-z0-9_-]+", rest)
            if not m:
                return None
            parts.append(m.group(0))
            rest = rest[m.end():].strip()
        if rest.startswith("."):
            rest = rest[1:].strip()
        elif rest:
            return None
    return parts


def _write(file: Path, text: str) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
