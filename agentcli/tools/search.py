"""`grep` and `glob`: file search through the real ripgrep binary (the `ripgrep` wheel ships it)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

from agentcli.tools.context import ToolContext, ToolError
from agentcli.types import ToolResult

DEFAULT_MAX_RESULTS = 100
MAX_GLOB_RESULTS = 500
MAX_LINE_CHARS = 400
RG_TIMEOUT = 60


@functools.lru_cache(maxsize=1)
def rg_path() -> str:
    """The `rg` binary: beside this interpreter (the wheel's script), else on PATH."""
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("rg")
    if found:
        return found
    raise ToolError("ripgrep (rg) is not installed; run: pip install ripgrep==14.1.0")


def run_rg(argv: list[str], cwd: Path, timeout: float = RG_TIMEOUT) -> subprocess.CompletedProcess:
    """Run rg with `argv`; exit code 1 (no match) is normal, 2 is an error with a message."""
    try:
        return subprocess.run([rg_path(), *argv], cwd=cwd, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"search took longer than {timeout:.0f}s; narrow the path or pattern") from exc


def rg_json_hits(stdout: bytes) -> Iterable[tuple[str, str, int, str]]:
    """(kind, path, line_number, text) for each match or context line of `rg --json` output."""
    for raw in stdout.splitlines():
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        kind = msg.get("type")
        if kind not in ("match", "context"):
            continue
        data = msg["data"]
        path = _text(data["path"])
        text = _text(data["lines"]).rstrip("\r\n")
        yield kind, path, data.get("line_number") or 0, text


def _text(field: dict[str, Any]) -> str:
    if "text" in field:
        return field["text"]
    import base64
    return base64.b64decode(field.get("bytes", "")).decode("utf-8", errors="replace")


def grep(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    pattern: str = args["pattern"]
    if "\x00" in pattern:
        raise ToolError("pattern contains a NUL byte")
    target = ctx.workspace.resolve(args.get("path") or ".")
    if not target.exists():
        raise ToolError(f"no such file or folder: {args.get('path')}")
    max_results = max(1, int(args.get("max_results") or DEFAULT_MAX_RESULTS))
    base = ["--json", "--no-config", "--no-require-git", "--max-columns", str(MAX_LINE_CHARS * 4)]
    # Like `rg --smart-case`: an all-lowercase pattern matches any case (`port` finds
    # DEFAULT_PORT), a pattern with a capital matches exactly; ignore_case decides when given.
    case = args.get("ignore_case")
    case_flag = "--smart-case" if case is None else "--ignore-case" if case else "--case-sensitive"
    extra: list[str] = []
    if args.get("context"):
        extra += ["--context", str(min(max(0, int(args["context"])), 20))]
    if args.get("glob"):
        extra += ["--glob", args["glob"]]
    argv = base + [case_flag] + extra
    tail = ["--regexp", pattern, "--", str(target)]
    proc = run_rg(argv + tail, ctx.workspace.root, ctx.time_left(RG_TIMEOUT) or 1)
    note = ""
    if proc.returncode == 2 and not proc.stdout:
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if "regex parse error" not in stderr:
            raise ToolError(_rg_error(stderr))
        # Models often mean `foo(` literally: search for the text as written, and say so.
        proc = run_rg(argv + ["--fixed-strings"] + tail, ctx.workspace.root,
                      ctx.time_left(RG_TIMEOUT) or 1)
        note = f"[{_rg_error(stderr)}; searched for the literal text instead]"

    lines, matches, shown, files = _hits(proc.stdout, ctx, max_results)
    if note:
        lines.insert(0, note)
    if matches == 0:
        lines.append(f"no matches for {pattern!r}")
        words = _phrase_words(pattern)
        if words:
            # A sentence is rarely in the code word for word; its words often are. Show where.
            wide = run_rg(base + ["--ignore-case"] + extra + ["--regexp", "|".join(words), "--", str(target)],
                          ctx.workspace.root, ctx.time_left(RG_TIMEOUT) or 1)
            more, found, _, _ = _hits(wide.stdout, ctx, PHRASE_WORD_HITS)
            if found:
                lines.append(f"(that phrase is nowhere; lines with any of the words {', '.join(words)}:)")
                lines += more
                if found > len(more):
                    lines.append(f"[{found - len(more)} more lines with those words not shown]")
        return ToolResult("\n".join(lines), meta={"matches": 0})
    if matches > shown:
        lines.append(f"[{matches - shown} more matching lines not shown; narrow the search "
                     f"with path, glob or a more specific pattern]")
    meta = {"matches": matches, "files": sorted(files)[:50]}
    return ToolResult("\n".join(lines), meta=meta)


def _hits(stdout: bytes, ctx: ToolContext, max_results: int) -> tuple[list[str], int, int, set[str]]:
    """rg's JSON as `path:line: text` lines (context lines as `path-line- text`): (the lines,
    matches, matches shown, files with a match)."""
    lines: list[str] = []
    matches = shown = 0
    files: set[str] = set()
    for kind, path, number, text in rg_json_hits(stdout):
        rel = ctx.workspace.display(Path(path))
        if kind == "match":
            matches += 1
            files.add(rel)
            if shown >= max_results:
                continue
            shown += 1
            lines.append(f"{rel}:{number}: {_clip(text)}")
        elif shown < max_results:
            lines.append(f"{rel}-{number}- {_clip(text)}")
    return lines, matches, shown, files


PHRASE_WORD_HITS = 20
# Words of a question that say nothing about where to look.
_COMMON = {"the", "and", "for", "with", "what", "does", "that", "this", "from", "into", "are", "was",
           "how", "where", "which", "when", "who", "why", "its", "has", "have", "not", "can", "all",
           "any", "there", "their", "them", "then", "than", "our", "you", "your"}


def _phrase_words(pattern: str) -> list[str]:
    """The distinctive words of a pattern that is a plain phrase (no regex syntax), else []."""
    if " " not in pattern.strip() or re.search(r"[\\()\[\]|*+?{}^$.]", pattern):
        return []
    words = [w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]{2,}", pattern)]
    return list(dict.fromkeys(w for w in words if w not in _COMMON))[:6]


def glob(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    pattern: str = args["pattern"]
    base = ctx.workspace.resolve(args.get("path") or ".")
    if not base.is_dir():
        raise ToolError(f"not a folder: {args.get('path')}")
    proc = run_rg(["--files", "--no-config", "--no-require-git", "--glob", pattern], base, ctx.time_left(RG_TIMEOUT) or 1)
    if proc.returncode == 2 and not proc.stdout:
        raise ToolError("glob failed: " + proc.stderr.decode("utf-8", errors="replace").strip())
    found = sorted(p for p in proc.stdout.decode("utf-8", errors="replace").splitlines() if p)
    if not found:
        return ToolResult(f"no files match {pattern!r}", meta={"count": 0})
    shown = [ctx.workspace.display(base / p) for p in found[:MAX_GLOB_RESULTS]]
    if len(found) > MAX_GLOB_RESULTS:
        shown.append(f"[{len(found) - MAX_GLOB_RESULTS} more files not shown]")
    return ToolResult("\n".join(shown), meta={"count": len(found)})


def _rg_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    if "regex parse error" in stderr:
        why = next((ln[len("error:"):].strip() for ln in reversed(lines) if ln.startswith("error:")),
                   "cannot parse it")
        return f"invalid regular expression ({why})"
    return "grep failed: " + (" ".join(lines[-3:]) if lines else "ripgrep error")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + " […line cut]"

