"""Git checkpoints: a worktree and branch of the run's own, commits at milestones and marks.

The user's checkout is only ever read: the branch starts from a snapshot commit of what the
user sees (HEAD plus uncommitted and untracked, non-ignored files), built with a temporary index
so neither the user's index, working tree nor branch moves. The run works in a worktree under
`<git dir>/agentcli/worktrees/<session-id>` on branch `agentcli/<session-id>`.

`Checkpoints.here` is the other mode, for a folder agentcli owns (a reproduction's workdir):
the commits go on the folder's own repository and branch, where the work already is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcli.gitguard import NO_DIFF_PROGRAMS, quiet_flags
from agentcli.sandbox import child_env

BRANCH_PREFIX = "agentcli/"
# Programs git may start must never wait for a person, and commits must never be signed
# interactively or blocked by the user's hooks: these are snapshots, not the user's commits.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_PAGER": "cat"}
_COMMIT_FLAGS = ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
_IDENTITY = {"GIT_AUTHOR_NAME": "agentcli", "GIT_AUTHOR_EMAIL": "agentcli@localhost",
             "GIT_COMMITTER_NAME": "agentcli", "GIT_COMMITTER_EMAIL": "agentcli@localhost"}


class GitError(Exception):
    """A git step failed; the message is one line for people."""


def git(args: list[str], cwd: Path, *, env: dict[str, str] | None = None, check: bool = True,
        timeout: float = 120) -> str:
    """Run git and return stdout; GitError with git's own message when it fails. Git starts no
    program the repository names (hooks, fsmonitor, filters: a command the model ran may have
    set them), and sees no provider key."""
    try:
        proc = subprocess.run(["git", *quiet_flags(cwd), *args], cwd=cwd, capture_output=True,
                              text=True, env={**child_env(), **_ENV, **(env or {})}, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {timeout:.0f}s") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def repo_root(path: Path) -> Path | None:
    """The top of the git working tree holding `path`, or None outside git."""
    try:
        out = git(["rev-parse", "--show-toplevel"], path, check=True, timeout=10)
    except GitError:
        return None
    return Path(out.strip()) if out.strip() else None


def head(path: Path) -> str | None:
    try:
        return git(["rev-parse", "--verify", "-q", "HEAD"], path, timeout=10).strip() or None
    except GitError:
        return None


def subject(path: Path, sha: str) -> str:
    try:
        return git(["log", "-1", "--format=%s", sha], path, timeout=10).strip()
    except GitError:
        return ""


def _identity(cwd: Path) -> dict[str, str]:
    """agentcli's identity where the user has configured none (so a commit cannot fail on it)."""
    name = git(["config", "user.name"], cwd, check=False, timeout=10).strip()
    email = git(["config", "user.email"], cwd, check=False, timeout=10).strip()
    return {} if name and email else dict(_IDENTITY)


@dataclass
class Checkpoints:
    """The run's branch and worktree. `workspace` is where the agent works (the worktree, or the
    same sub-folder of it that the user started in)."""

    repo: Path
    branch: str
    worktree: Path
    base: str
    prefix: str = ""
    snapshot: bool = False  # the base is a commit of the user's uncommitted work, not their HEAD
    in_place: bool = False  # commits on the folder's own checkout (`here`), no worktree of its own

    @property
    def workspace(self) -> Path:
        return self.worktree / self.prefix if self.prefix else self.worktree

    def to_dict(self) -> dict[str, Any]:
        return {"repo": str(self.repo), "branch": self.branch, "worktree": str(self.worktree),
                "base": self.base, "prefix": self.prefix, "snapshot": self.snapshot,
                "in_place": self.in_place}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Checkpoints:
        return cls(Path(d["repo"]), d["branch"], Path(d["worktree"]), d["base"], d.get("prefix", ""),
                   bool(d.get("snapshot")), bool(d.get("in_place")))

    @classmethod
    def create(cls, workspace: Path, session_id: str) -> Checkpoints:
        """A branch from a snapshot of what the user sees, checked out in a new worktree."""
        root = repo_root(workspace)
        if root is None:
            raise GitError(f"--checkpoint git needs a git repository, and {workspace} is not in one "
                           "(run `git init` there, or leave out --checkpoint)")
        prefix = git(["rev-parse", "--show-prefix"], workspace, timeout=10).strip().rstrip("/")
        common = Path(git(["rev-parse", "--git-common-dir"], root, timeout=10).strip())
        common = common if common.is_absolute() else (root / common).resolve()
        worktree = common / "agentcli" / "worktrees" / session_id
        branch = BRANCH_PREFIX + session_id
        base = snapshot(root)
        git(["branch", branch, base], root)
        _add_worktree(root, worktree, branch)
        return cls(root, branch, worktree, base, prefix, snapshot=base != head(root))

    @classmethod
    def here(cls, folder: Path) -> Checkpoints:
        """Commit in `folder`'s own repository, on the branch it has checked out. `folder` must be
        the top of that repository; what is uncommitted in it now is committed first, as the base."""
        folder = Path(folder).resolve()
        root = repo_root(folder)
        if root is None or root.resolve() != folder:
            raise GitError(f"{folder} is not the top of a git repository")
        branch = git(["symbolic-ref", "--quiet", "--short", "HEAD"], folder, check=False).strip()
        if not branch:
            raise GitError(f"{folder} has a detached HEAD; check out a branch to commit on")
        made = cls(folder, branch, folder, "", in_place=True).commit(
            "agentcli: the work before the run started")
        base = made[0] if made else head(folder)
        if not base:
            raise GitError(f"{folder}: nothing to commit as the run's starting point")
        return cls(folder, branch, folder, base, in_place=True)

    def ensure(self) -> None:
        """Put the worktree back from the branch if it was removed (e.g. before a resume)."""
        if (self.worktree / ".git").exists():
            return
        if self.in_place:
            raise GitError(f"{self.worktree} is no longer a git repository")
        git(["worktree", "prune"], self.repo, check=False)
        _add_worktree(self.repo, self.worktree, self.branch)

    def discard(self) -> None:
        """Remove the worktree and branch again (the run could not start)."""
        if self.in_place:
            return  # the folder and its branch were there before the run: they stay
        git(["worktree", "remove", "--force", str(self.worktree)], self.repo, check=False)
        git(["branch", "-D", self.branch], self.repo, check=False)

    def commit(self, subject_line: str, body: str = "") -> tuple[str, list[str]] | None:
        """Commit everything in the worktree; (sha, files) or None when nothing changed."""
        status = git(["status", "--porcelain", "-z", "--untracked-files=all"], self.worktree)
        if not status.strip("\0"):
            return None
        git(["add", "-A"], self.worktree)
        files = [f for f in git(["diff", "--cached", "--name-only"], self.worktree).splitlines() if f]
        message = subject_line.strip() + ("\n\n" + body.strip() if body.strip() else "") + "\n"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            f.write(message)
        try:
            git([*_COMMIT_FLAGS, "commit", "-q", "--no-verify", "-F", f.name], self.worktree,
                env=_identity(self.worktree))
        finally:
            os.unlink(f.name)
        return head(self.worktree) or "", files

    def log(self) -> list[tuple[str, str]]:
        """(sha, subject) of the run's commits since the base, oldest first."""
        out = git(["log", "--reverse", "--format=%H%x00%s", f"{self.base}..{self.branch}"],
                  self.repo, check=False)
        return [tuple(line.split("\0", 1)) for line in out.splitlines() if "\0" in line]  # type: ignore[misc]

    def diff_stat(self) -> str:
        return git(["diff", *NO_DIFF_PROGRAMS, "--stat", self.base, self.branch], self.repo,
                   check=False).strip()


def snapshot(root: Path) -> str:
    """A commit of the working tree as the user sees it, parented on HEAD (HEAD itself when
    nothing is uncommitted). Uses a throwaway index: the user's index and files are not touched."""
    parent = head(root)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if parent:
            git(["read-tree", parent], root, env=env)
        git(["add", "-A"], root, env=env, timeout=600)
        tree = git(["write-tree"], root, env=env).strip()
    if parent and tree == git(["rev-parse", f"{parent}^{{tree}}"], root).strip():
        return parent
    parents = ["-p", parent] if parent else []
    return git([*_COMMIT_FLAGS, "commit-tree", tree, *parents, "-m",
                "agentcli: snapshot of the uncommitted work the run started from"],
               root, env=_identity(root)).strip()


def _add_worktree(root: Path, worktree: Path, branch: str) -> None:
    worktree.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # parallel batch tasks can meet on git's lock files
        try:
            git(["worktree", "add", "-q", str(worktree), branch], root)
            return
        except GitError as err:
            if "lock" not in str(err) or attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def fingerprint(root: Path, ignore: Path | None = None) -> str:
    """A hash of the files under `root` as they are now: equal fingerprints mean no file changed,
    and going back to an earlier fingerprint means edits were undone. Tracked files count by
    their diff against HEAD, other files by content (by size and time when large). `ignore` is a
    folder left out (the session library, when it lives in the workspace)."""
    skip = os.path.realpath(ignore) + os.sep if ignore is not None else None
    h = hashlib.sha1()
    if repo_root(root) is not None:
        h.update(git(["rev-parse", "-q", "--verify", "HEAD"], root, check=False).encode())
        h.update(git(["diff", "HEAD", *NO_DIFF_PROGRAMS, "--binary", "--", "."], root, check=False).encode())
        others = git(["ls-files", "--others", "--exclude-standard", "-z", "--", "."], root, check=False)
        for name in sorted(n for n in others.split("\0") if n):
            if skip is None or not os.path.realpath(root / name).startswith(skip):
                _hash_file(h, root / name, name)
        return h.hexdigest()
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS
                             and os.path.realpath(os.path.join(dirpath, d)) + os.sep != skip)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            _hash_file(h, path, str(path.relative_to(root)))
            count += 1
            if count > _MAX_FILES:
                return h.hexdigest()
    return h.hexdigest()


_SKIP_DIRS = {".git", ".agentcli", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache",
              ".pytest_cache", ".tox", "target", "dist", "build"}
_MAX_FILES = 50_000
_MAX_HASHED = 256 * 1024


def _hash_file(h, path: Path, name: str) -> None:
    try:
        st = path.stat()
        if st.st_size <= _MAX_HASHED:
            h.update(f"{name}\0".encode() + path.read_bytes() + b"\0")
        else:
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    except OSError:
        return
