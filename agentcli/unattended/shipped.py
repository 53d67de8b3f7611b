"""What travels between the user's machine and a Ray worker for `agentcli batch --executor ray`.

Out: a git bundle of the task's base commit (what the user sees: HEAD plus uncommitted and
untracked files, the same snapshot the local executor starts from). Back: `Landing` takes each
shipment of a worker: new commits of the run's branch are fetched into the user's repository
under the same name, `agentcli/<session-id>`; the session's files go into the user's library,
with the worker's folders replaced by the user's, so `agentcli sessions`, `memory search` and
`agentcli run --resume` work on it as on a run of this machine.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from agentcli.library import Library, LibraryError
from agentcli.unattended.gitwork import BRANCH_PREFIX, GitError, git, repo_root, snapshot

ARCHIVE = "events.jsonl"
# Fetches into one repository from several tasks at once would meet on git's lock files.
_GIT_LOCK = threading.Lock()


def base_bundle(directory: Path) -> tuple[Path, str, str, str, bytes]:
    """(repository root, the folder's prefix in it, base commit, ref name, bundle) for a task
    that runs in `directory`. The ref exists only in the bundle. Raises GitError."""
    root, prefix = _where(directory)
    with _GIT_LOCK:
        base = snapshot(root)
        ref = f"refs/agentcli/ship-{secrets.token_hex(4)}"
        git(["update-ref", ref, base], root)
        try:
            data = _bundle(root, ref)
        finally:
            git(["update-ref", "-d", ref], root, check=False)
    return root, prefix, base, ref, data


def session_bundle(directory: Path, session_id: str) -> tuple[Path, str, str, str, bytes]:
    """Like `base_bundle`, for a run that goes on (`batch --resume`): its branch as it is here."""
    root, prefix = _where(directory)
    ref = f"refs/heads/{BRANCH_PREFIX}{session_id}"
    tip = git(["rev-parse", "-q", "--verify", ref], root, check=False).strip()
    if not tip:
        raise GitError(f"the branch {BRANCH_PREFIX}{session_id} is not in {root}")
    with _GIT_LOCK:
        return root, prefix, tip, ref, _bundle(root, ref)


def session_files(library: Library, session_id: str) -> dict[str, bytes]:
    """The files of a session, to go on with it elsewhere."""
    folder = library.session_dir(session_id)
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def relocate(text: str, moves: list[tuple[str, str]], *, in_json: bool) -> str:
    """`text` with each folder of `moves` (old, new) replaced, the longest first (the library
    may be inside the repository); `in_json`: the text is JSON, the folders inside its strings."""
    for old, new in sorted(moves, key=lambda m: -len(m[0])):
        text = text.replace(old, json.dumps(new, ensure_ascii=False)[1:-1] if in_json else new)
    return text


def _where(directory: Path) -> tuple[Path, str]:
    root = repo_root(directory)
    if root is None:
        raise GitError(f"{directory} is not in a git repository")
    return root, git(["rev-parse", "--show-prefix"], directory, timeout=10).strip().rstrip("/")


def _bundle(root: Path, ref: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "work.bundle"
        git(["bundle", "create", "-q", str(path), ref], root, timeout=1800)
        return path.read_bytes()


class Landing:
    """Where one task's shipments land: its branch, its session, its log."""

    def __init__(self, repo: Path, library: Library, log: Path):
        self.repo, self.library, self.log = repo, library, log
        self.session_id: str | None = None
        self.branch: str | None = None
        self._moves: list[tuple[str, str]] = []
        self.problems: list[str] = []

    def relocate(self, worker_repo: str, worker_library: str) -> None:
        """From now on, the worker's folders in what it ships read as the user's."""
        self._moves = [(worker_repo, str(self.repo)), (worker_library, str(self.library.root))]

    def text(self, text: str, *, in_json: bool) -> str:
        """`text` with the worker's folders replaced by the user's."""
        return relocate(text, self._moves, in_json=in_json)

    def take(self, parcel: dict[str, Any]) -> None:
        """Put one shipment where it belongs: the log, the branch, the session's files."""
        if parcel.get("log"):
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(self.library.clean(self._decode(parcel["log"], "log")))
        sid = parcel.get("session_id")
        if not sid:
            return
        if self.session_id is None:
            self.session_id = sid
            with contextlib.suppress(LibraryError):
                self.library.lock_session(sid)  # no local `--resume` while it runs remotely
        if parcel.get("bundle"):
            try:
                self._fetch(parcel["bundle"], sid)
            except GitError as err:  # the session still lands; the task says what is missing
                self.problems.append(f"its commits could not be fetched: {err}")
        folder = self.library.session_dir(sid)
        for rel, data in (parcel.get("files") or {}).items():
            self.library.write_text(folder / rel, self._decode(data, rel))
        if (parcel.get("appends") or {}).get(ARCHIVE):
            self.library.append_text(folder / ARCHIVE, self._decode(parcel["appends"][ARCHIVE], ARCHIVE))
        if parcel.get("index_line"):
            self.library.update_root_index(sid, self.text(parcel["index_line"], in_json=False))

    def close(self) -> None:
        """The task is over: bring the search index up to date and free the session."""
        if self.session_id is None:
            return
        self.library.fulltext.update(self.session_id)
        self.library.fulltext.close()
        self.library.unlock_session(self.session_id)

    def _decode(self, data: bytes, name: str) -> str:
        text = data.decode("utf-8", errors="replace")
        return self.text(text, in_json=name.endswith((".json", ".jsonl")))

    def _fetch(self, bundle: bytes, sid: str) -> None:
        ref = f"refs/heads/{BRANCH_PREFIX}{sid}"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "work.bundle"
            path.write_bytes(bundle)
            with _GIT_LOCK:
                git(["fetch", "-q", "--no-tags", "--no-write-fetch-head", str(path), f"+{ref}:{ref}"],
                    self.repo, timeout=1800)
        self.branch = BRANCH_PREFIX + sid
