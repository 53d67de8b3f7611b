"""Approval modes: which shell commands and writes may run without asking the user.

- auto: everything inside the workspace runs (headless default).
- readonly: no writes; only shell commands that read.
- ask: read-only commands and writes inside the workspace run; other shell commands, and
  reads or writes outside the workspace, ask y/n/always through the front end's `ask`
  callback (chat default).
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Callable

MODES = ("ask", "auto", "readonly")

# Programs that only read, by first word (or first two words for git and friends).
READ_ONLY = {
    "ls", "cat", "head", "tail", "wc", "grep", "rg", "find", "pwd", "echo", "printf", "stat", "file",
    "du", "df", "tree", "which", "type", "sort", "uniq", "cut", "diff", "cmp", "env", "date",
    "basename", "dirname", "realpath", "readlink", "true", "false", "test", "[", "whoami", "uname",
    "git status", "git diff", "git log", "git show", "git branch", "git rev-parse", "git ls-files",
    "git blame", "git grep", "python --version", "python3 --version", "pip list", "pip show",
}
_SPLIT = re.compile(r"\|\||&&|[;|\n]")
_WRITE_REDIRECT = re.compile(r"(?<![0-9&])>(?!&)|>>|\d>(?!&|/dev/null)")

Asker = Callable[[str, str], str]  # (kind, detail) -> "y" | "n" | "always"


def is_read_only(command: str) -> bool:
    """Whether every part of a command line is a known read-only program with no redirect into a file."""
    if "$(" in command or "`" in command:
        return False
    if _WRITE_REDIRECT.search(command.replace(">/dev/null", "").replace("> /dev/null", "")):
        return False
    for part in _SPLIT.split(command):
        part = part.strip()
        if not part:
            continue
        try:
            words = shlex.split(part)
        except ValueError:
            return False
        if not words:
            continue
        if words[0] not in READ_ONLY and " ".join(words[:2]) not in READ_ONLY:
            return False
        if words[0] == "find" and any(w in ("-delete", "-exec", "-execdir", "-fprint") for w in words):
            return False
    return True


class Approval:
    """The user's approval policy, called by tools as `approve(kind, detail)`."""

    def __init__(self, mode: str = "auto", ask: Asker | None = None,
                 allow: set[str] | None = None):
        if mode not in MODES:
            raise ValueError(f"unknown approval mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = mode
        self.ask = ask
        self.always: set[str] = set(allow or ())

    def __call__(self, kind: str, detail: str) -> bool:
        if kind == "shell" and is_read_only(detail):
            return True
        if self.mode == "readonly":
            return False
        if self.mode == "auto" or (kind == "write" and self.mode == "ask"):
            return True
        key = _key(kind, detail)
        if key in self.always:
            return True
        if self.ask is None:
            return False
        answer = self.ask(kind, detail)
        if answer == "always":
            self.always.add(key)
        return answer in ("y", "always")

    def outside(self, verb: str, path: str) -> bool | None:
        """May a tool `verb` ("read" or "write") `path`, which lies outside the workspace?
        None: not the user's call (auto and headless stay inside; readonly never writes);
        else the user's answer, asked as kind `read_outside` / `write_outside`."""
        if self.ask is None or self.mode == "auto" or (self.mode == "readonly" and verb == "write"):
            return None
        kind = f"{verb}_outside"
        folder = os.path.dirname(path)
        if any(k.startswith(kind + ":") and _within(folder, k.split(":", 1)[1]) for k in self.always):
            return True
        answer = self.ask(kind, path)
        if answer == "always":
            self.always.add(scope(kind, path))
        return answer in ("y", "always")


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def scope(kind: str, detail: str) -> str:
    """What an "always" answer covers: the program (and subcommand) of a shell command, the
    folder of a path outside the workspace, else the exact detail."""
    return _key(kind, detail)


def _key(kind: str, detail: str) -> str:
    if kind.endswith("_outside"):
        return f"{kind}:{os.path.dirname(detail)}"
    if kind != "shell":
        return f"{kind}:{detail}"
    try:
        words = shlex.split(detail)
    except ValueError:
        words = detail.split()
    return "shell:" + " ".join(words[:2] if words and words[0] in ("git", "npm", "cargo", "go",
                                                                   "uv", "pip", "make") else words[:1])
