"""The library: where a workspace keeps its sessions, each an archive plus index files and summaries.

Layout, under `<workspace>/.agentcli/` by default (AGENTCLI_HOME or `--library` move it):

    INDEX.md                             one line per session (shared: written under a lock)
    sessions/<session-id>/events.jsonl   the lossless archive (append-only)
    sessions/<session-id>/INDEX.md       the session's short root index
    sessions/<session-id>/*.md           topical index files (requests, files, commands, ...)
    sessions/<session-id>/summaries/     numbered compaction summaries
    sessions/<session-id>/spill/         tool outputs too large for the context, in full
    sessions/<session-id>/meta.json      what `agentcli sessions` lists
    search.db                            the ranked search index over every session (derived)
    CODEMAP.md, codemap.db               the workspace's code map: files, definitions, users

Every file the library writes passes through `Library.clean`, the same redaction hook the
archive uses. Files of one session are written only by the process holding that session's lock;
shared files are written under an fcntl lock and replaced atomically.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from agentcli import config
from agentcli.library.archive import ARCHIVE_NAME, LibraryError
from agentcli.secrets import Redact, Redactor

try:
    import fcntl
except ImportError:  # not on POSIX: locks become no-ops
    fcntl = None  # type: ignore[assignment]

LIBRARY_DIRNAME = ".agentcli"
SHARED_LOCK = ".lock"
SESSION_LOCK = ".lock"

__all__ = ["Library", "LibraryError", "LIBRARY_DIRNAME"]


class Library:
    """A workspace's library folder.

    `redact` (text -> text) cleans everything written to it: archive lines, index files,
    summaries, spills. By default it is `agentcli.secrets.Redactor`, so no secret reaches the disk.
    """

    def __init__(self, root: Path, redact: Redact | None = None):
        self.root = Path(root)
        self.redact: Redact = redact if redact is not None else Redactor()
        self._session_locks: dict[str, int] = {}
        self._fulltext = None
        self._code_maps: dict[Path, object] = {}

    @classmethod
    def for_workspace(cls, workspace: Path, override: Path | None = None,
                      redact: Callable[[str], str] | None = None) -> Library:
        """The library for `workspace`; inside it, it is kept out of git via .git/info/exclude."""
        home = config.env().home
        chosen = override or home or Path(workspace) / LIBRARY_DIRNAME
        lib = cls(chosen, redact)
        if override is None and home is None:
            _exclude_from_git(Path(workspace), LIBRARY_DIRNAME)
        return lib

    # -- layout -------------------------------------------------------------------------------

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

    def resolve_session(self, prefix: str | None = None, exclude: str | None = None) -> str:
        """Like find_session, but a clear LibraryError when nothing (or too much) matches.
        `exclude` (the session already open) does not count against a prefix that otherwise
        names one session: ids started in the same second share their first 16 characters."""
        ids = self.session_ids()
        if not prefix:
            if not ids:
                raise LibraryError(f"no sessions yet in {self.root}")
            return ids[-1]
        exact = [i for i in ids if i == prefix]
        if exact:
            return exact[0]
        found = [i for i in ids if i.startswith(prefix)]
        if len(found) > 1 and exclude in found:
            found.remove(exclude)
        if not found:
            raise LibraryError(f"no session matches {prefix!r} in {self.root}; "
                               "list them with `agentcli sessions`")
        if len(found) > 1:
            raise LibraryError(f"{len(found)} sessions match {prefix!r} ({found[0]}, {found[1]}, "
                               "...); give more of the id")
        return found[0]

    def session_ids(self) -> list[str]:
        """Ids of sessions with an archive, oldest first (ids sort by start time)."""
        if not self.sessions_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.sessions_dir.glob(f"*/{ARCHIVE_NAME}"))

    @property
    def fulltext(self):
        """The ranked search index of this library (`fulltext.FullText`), opened on first use."""
        if self._fulltext is None:
            from agentcli.library.fulltext import FullText

            self._fulltext = FullText(self)
        return self._fulltext

    def code_map(self, workspace: Path):
        """The code map of `workspace` (`codemap.CodeMap`), kept in this library's folder."""
        key = Path(workspace).resolve()
        if key not in self._code_maps:
            from agentcli.library.codemap import CodeMap

            self._code_maps[key] = CodeMap(key, self)
        return self._code_maps[key]

    def close_indexes(self) -> None:
        """Close the search index's and the code maps' database files (they reopen on next use):
        a process that opens many sessions would otherwise keep three files open for each."""
        if self._fulltext is not None:
            self._fulltext.close()
        for cmap in self._code_maps.values():
            cmap.close()

    # -- writing ------------------------------------------------------------------------------

    def clean(self, text: str) -> str:
        """`text` as the library may store it: through the redaction hook, if one is set."""
        return self.redact(text) if self.redact is not None else text

    def write_text(self, path: Path, text: str) -> None:
        """Replace `path` atomically with the redacted `text` (readers never see half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.clean(text))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def append_text(self, path: Path, text: str) -> None:
        """Append the redacted `text` to `path` (a file only this process writes)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(self.clean(text))

    @contextlib.contextmanager
    def shared_lock(self) -> Iterator[None]:
        """Hold the library-wide lock: for files several agentcli processes update."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / SHARED_LOCK, "a+") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def lock_session(self, session_id: str) -> None:
        """Claim `session_id` for this process until it exits, so two processes never append to
        one archive. Raises LibraryError if another live process holds it."""
        if session_id in self._session_locks or fcntl is None:
            return
        folder = self.session_dir(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / SESSION_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LibraryError(f"session {session_id} is in use by another agentcli process; "
                               "wait for it to finish or start a new session") from None
        self._session_locks[session_id] = fd  # released by the OS when the process ends

    def unlock_session(self, session_id: str) -> None:
        fd = self._session_locks.pop(session_id, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def discard_session(self, session_id: str) -> None:
        """Release `session_id` and, if nothing was recorded in it (a start that failed), remove
        its folder, so failed starts leave nothing behind. A session with events is kept."""
        folder = self.session_dir(session_id)
        try:
            recorded = (folder / ARCHIVE_NAME).stat().st_size > 0
        except OSError:
            recorded = False
        if not recorded:
            shutil.rmtree(folder, ignore_errors=True)
        self.unlock_session(session_id)

    def prune_empty_sessions(self) -> int:
        """Remove folders of sessions that never recorded an event and that no live process
        holds (left by failed starts of older versions); returns how many went."""
        if not self.sessions_dir.is_dir() or fcntl is None:
            return 0
        removed = 0
        for folder in self.sessions_dir.iterdir():
            if not folder.is_dir() or (folder / ARCHIVE_NAME).exists() or folder.name in self._session_locks:
                continue
            try:
                fd = os.open(folder / SESSION_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # a session starting right now
            try:
                if not (folder / ARCHIVE_NAME).exists():
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            finally:
                os.close(fd)
        return removed

    def update_root_index(self, session_id: str, line: str) -> None:
        """Put `line` for `session_id` into the shared INDEX.md (one line per session)."""
        path = self.root / "INDEX.md"
        with self.shared_lock():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (FileNotFoundError, UnicodeDecodeError):
                lines = []
            body = [ln for ln in lines if ln.startswith("- ") and not ln.startswith(f"- {session_id} ")]
            body.append(f"- {session_id} {line}")
            body.sort()
            header = ["# agentcli library", "",
                      "One line per session, oldest first. Each session's own index is "
                      "sessions/<id>/INDEX.md; its archive is sessions/<id>/events.jsonl.", ""]
            self.write_text(path, "\n".join(header + body[-500:]) + "\n")


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
