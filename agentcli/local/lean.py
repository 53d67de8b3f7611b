"""What a small model is shown up front: an outline of the project's files, and its tools in
the order and shape it uses best.

Small models guess paths (`src/server.py` where the file is `app/server.py`) and then answer from
the error. A short list of the files in the system prompt lets them pick a real path on the
first call. It respects .gitignore (ripgrep's file walk) and stays small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentcli.tools import ToolError
from agentcli.tools.search import run_rg
from agentcli.types import ToolSpec

MAX_FILES = 60


def outline(root: Path, max_files: int = MAX_FILES) -> str | None:
    """"# Files in the project" and up to `max_files` paths, shallow ones first; None if empty."""
    try:
        proc = run_rg(["--files", "--no-config", "--no-require-git", "--sort", "path"], root, 5.0)
    except (ToolError, OSError):
        return None
    files = [p for p in proc.stdout.decode("utf-8", errors="replace").splitlines() if p]
    if not files:
        return None
    shown = sorted(files, key=lambda p: (p.count("/"), p))[:max_files]
    lines = sorted(shown)
    if len(files) > len(shown):
        lines.append(f"… and {len(files) - len(shown)} more files (use glob to list them)")
    return "# Files in the project\n" + "\n".join(lines)


# The order small models see the tools in: they lean towards the first ones listed.
LEAN_ORDER = ("read", "grep", "glob", "edit", "write", "shell")


def order_tools(tools: list[ToolSpec]) -> list[ToolSpec]:
    """Tools in the order small models use best (readers first, the shell last)."""
    rank = {name: i for i, name in enumerate(LEAN_ORDER)}
    return sorted(tools, key=lambda t: rank.get(t.name, len(rank)))


def call_schema(tools: list[ToolSpec], lean: bool) -> dict[str, Any]:
    """A JSON schema that only a valid call of one of `tools` satisfies."""
    return {"anyOf": [{
        "type": "object",
        "properties": {"name": {"const": t.name}, "arguments": _strict(t.schema(lean))},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    } for t in tools]}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "additionalProperties": False}
