"""`code_map`: the model asks the project's code map which file defines a name, who refers to
it, and what a folder holds (`agentcli/library/codemap.py` keeps the map)."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path
from typing import Any

from agentcli.library import Library
from agentcli.library.codemap import CodeMap, MapUnavailable
from agentcli.tools.context import ToolContext, ToolError
from agentcli.types import ToolResult

MAX_CHARS, LEAN_MAX_CHARS = 12_000, 4_000
OVERVIEW_TOKENS, LEAN_OVERVIEW_TOKENS = 3_000, 1_000
MAX_USERS = 40


def code_map(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    host = ctx.library
    if host is None:
        raise ToolError("the code map is not available in this run")
    library = host if isinstance(host, Library) else host.library
    cmap = library.code_map(ctx.workspace.root)
    limit = LEAN_MAX_CHARS if ctx.lean else MAX_CHARS
    symbol, path = str(args.get("symbol") or "").strip(), str(args.get("path") or "").strip()
    try:
        cmap.update()
        if symbol:
            text = describe(cmap, symbol)
        else:
            text = cmap.render(under=_relative(ctx, path), members=bool(path), max_tokens=None if path else
                               (LEAN_OVERVIEW_TOKENS if ctx.lean else OVERVIEW_TOKENS))
    except (MapUnavailable, sqlite3.Error, OSError) as exc:
        raise ToolError(f"the code map cannot be read: {exc}") from exc
    if path and text.startswith("# Code map: 0 files"):
        raise ToolError(f"no source files with definitions under {path!r}; list files with glob")
    if len(text) > limit:
        text = text[:limit].rsplit("\n", 1)[0] + "\n[… cut; ask for a narrower path or a symbol]"
    return ToolResult(text, meta={"symbol": symbol or None, "path": path or None})


def describe(cmap: CodeMap, symbol: str) -> str:
    """Where `symbol` is defined and which files refer to it, as the tool prints it."""
    defs = cmap.definitions(symbol)
    users = cmap.references(defs[0][5] if defs else symbol)  # the spelling found, if case differed
    out: list[str] = []
    if defs:
        out.append(f"{symbol} is defined in {len(defs)} place(s):")
        out += [f"  {path}:{line} ({kind}) {signature}" for path, kind, line, signature, _, _ in defs]
    else:
        similar = cmap.similar(symbol)
        out.append(f"no definition named {symbol!r} in the code map"
                   + (f"; names holding it: {', '.join(similar)}" if similar else ""))
    defined_in = {d[0] for d in defs}
    users = [u for u in users if u[0] not in defined_in] + [u for u in users if u[0] in defined_in]
    if users:
        out.append(f"Referred to in {len(users)} file(s) (file: lines):")
        out += [f"  {path}: {_where_in(cmap.workspace / path, lines)}"
                + (" …" if count > len(lines.split(",")) else "") for path, count, lines in users[:MAX_USERS]]
        if len(users) > MAX_USERS:
            out.append(f"  … {len(users) - MAX_USERS} more files")
    elif defs:
        out.append("No file refers to it by name.")
    return "\n".join(out)


def _relative(ctx: ToolContext, path: str) -> str:
    """`path` relative to the workspace root (the map's paths are)."""
    if not path or path in (".", "./"):
        return ""
    root = str(ctx.workspace.root).rstrip("/") + "/"
    return path[len(root):] if path.startswith(root) else path


TOOLS = {"code_map": code_map}


def _where_in(path: Path, lines: str) -> str:
    """`lines` ("12, 40") with the function each is in, for a Python file ("12 (in checkout), 40");
    the lines alone where the file cannot be parsed. Who calls a name is asked more often than
    which line does."""
    if path.suffix != ".py":
        return lines
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return lines
    scopes = [(n.lineno, n.end_lineno or n.lineno, n.name) for n in ast.walk(tree)
              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    shown = []
    for part in lines.split(","):
        part = part.strip()
        inside = [s for s in scopes if part.isdigit() and s[0] < int(part) <= s[1]]
        shown.append(f"{part} (in {max(inside)[2]})" if inside else part)  # the innermost
    return (", " if ", " in lines else ",").join(shown)
