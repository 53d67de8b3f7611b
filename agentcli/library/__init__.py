"""The library: where a workspace keeps its sessions, each an archive plus index files and summaries.

Layout, under `<workspace>/.agentcli/` by default (AGENTCLI_HOME or `--library` move it):

    sessions/<session-id>/events.jsonl   the lossless archive (append-only)
    sessions/<session-id>/...            spilled tool outputs, index files, summaries
"""

from __future__ import annotations

import os
import secrets
import subprocess
from datetime import datetime
from pathlib import Path

from agentcli.library.archive import ARCHIVE_NAME
from agentcli.secrets import Redact, Redactor

LIBRARY_DIRNAME = ".agentcli"


class Library:
    """A workspace's library folder.

    `redact` is applied to every text the library writes (archive lines, index files,
    summaries, logs), so no secret reaches the disk; see `agentcli.secrets`.
    """

    def __init__(self, root: Path, redact: Redact | None = None):
        self.root = Path(root)
        self.redact: Redact = redact or Redactor()

    @classmethod
    def for_workspace(cls, workspace: Path, override: Path | None = None) -> Library:
        """The library for `workspace`; inside it, it is kept out of git via .git/info/exclude."""
        chosen = override or (Path(os.environ["AGENTCLI_HOME"]) if os.environ.get("AGENTCLI_HOME")
                              else Path(workspace) / LIBRARY_DIRNAME)
        lib = cls(chosen)
        if override is None and not os.environ.get("AGENTCLI_HOME"):
            _exclude_from_git(Path(workspace), LIBRARY_DIRNAME)
        return lib

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    def new_session_id(self) -> str:
        return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)

    def session_dir(self, session_id: str) -> Path:
        return self.sessions_dir / session_id

    def find_session(self, prefix: str | None = None) -> str | None:
        """The full id of the session whose id starts with `prefix` (the newest if no prefix)."""
        ids = self.session_ids()
        if prefix:
            ids = [i for i in ids if i.startswith(prefix)]
        return ids[-1] if ids else None

    def session_ids(self) -> list[str]:
        """Ids of sessions with an archive, oldest first (ids sort by start time)."""
        if not self.sessions_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.sessions_dir.glob(f"*/{ARCHIVE_NAME}"))


def _exclude_from_git(workspace: Path, name: str) -> None:
    """Add `/name/` to the repository's .git/info/exclude once, if the workspace is in git."""
    try:
        out = subprocess.run(["git", "rev-parse", "--show-prefix", "--git-path", "info/exclude"],
                             cwd=workspace, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return
    lines = out.stdout.split("\n")
    if out.returncode != 0 or len(lines) < 2 or not lines[1].strip():
        return
    prefix, exclude = lines[0].strip(), Path(lines[1].strip())
    if not exclude.is_absolute():
        exclude = workspace / exclude
    line = f"/{prefix}{name}/"
    try:
        existing = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if line not in existing.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with open(exclude, "a", encoding="utf-8") as f:
                f.write(("" if not existing or existing.endswith("\n") else "\n") + line + "\n")
    except OSError:
        pass
