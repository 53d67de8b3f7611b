"""The parts of a git folder that make git start programs, kept out of the model's reach.

`.git/config` (core.fsmonitor, filter and diff drivers, core.hooksPath), `.git/hooks/`,
`.git/info/attributes` and a `commondir` file that points git at another config all name
programs that the user's next `git status` would run on the host. The sandbox binds these
read-only (`sealed_paths`); `snapshot`/`changes` tell after a command whether any changed anyway
(no sandbox, or a file git reads that was not there to bind); `quiet_flags` are the options
agentcli's own git commands run with, so they start none of those programs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

# Names in a git folder that git reads to decide which programs to run.
WATCHED = ("config", "config.worktree", "commondir", "hooks", "info")
# Files git reads only when they exist: a command that adds one is undone in the sandbox.
ADDED_ONLY = ("config.worktree", "commondir")
# Linked worktrees and submodules have git folders of their own inside these.
_NESTED = ("worktrees", "modules")
_MAX_FILES = 2000  # a hooks folder with more is hashed by the first ones (and their count)


def git_folders(git_dir: Path, depth: int = 2) -> list[Path]:
    """`git_dir` and the git folders of its linked worktrees and submodules."""
    found = [git_dir]
    if depth <= 0:
        return found
    for nest in _NESTED:
        try:
            subs = sorted(p for p in (git_dir / nest).iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            continue
        for sub in subs:
            found += git_folders(sub, depth - 1)
    return found


def sealed_paths(git_dirs: tuple[Path, ...] | list[Path]) -> list[Path]:
    """The existing watched files and folders of these repositories, to bind read-only."""
    out: list[Path] = []
    for top in git_dirs:
        for folder in git_folders(Path(top)):
            out += [folder / name for name in WATCHED if (folder / name).exists()]
    return out


def snapshot(git_dirs: tuple[Path, ...] | list[Path]) -> dict[str, str]:
    """{path: hash of its content and mode} for every watched file of these repositories."""
    state: dict[str, str] = {}
    for top in git_dirs:
        for folder in git_folders(Path(top)):
            for name in WATCHED:
                _record(state, folder / name)
    return state


def _record(state: dict[str, str], path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        count = 0
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                count += 1
                if count > _MAX_FILES:
                    return
                _record(state, Path(dirpath) / name)
        return
    try:
        st = os.lstat(path)
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    except OSError:
        return
    state[str(path)] = hashlib.sha1(data + f"\0{st.st_mode:o}".encode()).hexdigest()


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The watched paths added, removed or changed between two snapshots."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def undo_added(before: dict[str, str], changed: list[str]) -> list[str]:
    """Remove the files of ADDED_ONLY that a sandboxed command created (the sandbox binds the
    others read-only, so nothing else of it can change); returns those removed."""
    removed = []
    for path in changed:
        if path not in before and os.path.basename(path) in ADDED_ONLY:
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
    return removed


_ALWAYS = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]
# Diffs agentcli makes for itself also pass --no-ext-diff --no-textconv: an empty textconv or
# diff command is run as "" and fails, where an empty filter command means no filter.
NO_DIFF_PROGRAMS = ["--no-ext-diff", "--no-textconv"]


def quiet_flags(cwd: Path | str) -> list[str]:
    """`-c` options under which git starts no program the repository names: no fsmonitor, no
    hooks, and every filter driver configured set empty (clean, smudge and process). Git has no
    switch that turns all filters off, and `.gitattributes` in the work tree cannot be ignored,
    so the drivers are listed by `git config`, which runs none of them itself."""
    flags = list(_ALWAYS)
    try:
        out = subprocess.run(["git", "config", "--name-only", "--get-regexp", r"^filter\."],
                             cwd=cwd, capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return flags
    drivers = sorted({name[len("filter."):].rpartition(".")[0] for name in out.stdout.splitlines()
                      if name.startswith("filter.")} - {""})
    for driver in drivers:
        flags += ["-c", f"filter.{driver}.clean=", "-c", f"filter.{driver}.smudge=",
                  "-c", f"filter.{driver}.process="]
    return flags
