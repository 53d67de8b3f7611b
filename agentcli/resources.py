"""Where the prompt templates and tool specs live (inside the wheel, or in a source checkout), and
the project's own notes for the system prompt."""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def data_dir(kind: str) -> Path:
    """The folder holding `prompts` or `tools`.

    A wheel carries them as `agentcli/_data/<kind>`; an editable install or a checkout keeps
    them at the repository root beside the package.
    """
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"agentcli's {kind}/ folder is missing from the installation")


def prompt(name: str) -> str:
    """The text of `prompts/<name>` (e.g. "system.md", "reproduce/claims.md")."""
    return (data_dir("prompts") / name).read_text(encoding="utf-8")


PROJECT_NOTES = ("AGENTS.md", "CLAUDE.md")


def project_notes(root: Path) -> str | None:
    """The repository's AGENTS.md (else CLAUDE.md) as a system prompt section, read fresh each
    time."""
    for name in PROJECT_NOTES:
        path = root / name
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                continue
            if text:
                return f"# Project instructions ({name})\n{text[:20_000]}"
    return None
