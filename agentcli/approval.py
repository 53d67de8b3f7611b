"""Approval modes: which shell commands and writes may run without asking the user.

- auto: everything inside the workspace runs (headless default).
- readonly: no writes. Shell commands run only in the sandbox, with the workspace mounted
  read-only there (the kernel, not a list of programs, keeps them from writing: `rg --pre`,
  `sort -o` or `find -delete` are read-only in name only); without a sandbox, no shell.
- ask: read-only commands and writes inside the workspace run; other shell commands, MCP
  tools, and reads or writes outside the workspace, ask y/n/always through the front end's
  `ask` callback (chat default).

MCP tools ask as kind `mcp` (detail: the tool's name, then its arguments; "always" covers the
tool); a tool its server marks read-only asks as `mcp_read`, which runs in every mode.

A shell command that names a path outside the workspace (an absolute path, `~`, `..`, `$HOME`)
is never taken as read-only: `ask` asks (kind `shell_outside`); `auto` refuses it where no
sandbox contains the command (`sandboxed` False), and lets the sandbox contain it where one
does. This reads the command line only; what a program does inside is the sandbox's to stop.

A refusal that is no person's answer (read-only mode; nobody there to ask) raises `Refused`
with what really happened, so the model is never told "the user declined".
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Callable, Iterable

from agentcli.tools.context import ToolError

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
# Paths a command may name without touching anything of the user's.
_HARMLESS = {"/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero",
             "/dev/random", "/dev/urandom", "/dev/fd/0", "/dev/fd/1", "/dev/fd/2"}
# A program run by its full path from a system folder is a program, not the user's data.
_SYSTEM_PROGRAMS = ("/usr/", "/bin/", "/sbin/", "/opt/")
_HOME_VARS = re.compile(r"^\$\{?(HOME|TMPDIR|OLDPWD)\}?(/|$)")
_REDIRECT_PREFIX = re.compile(r"^\d*(?:&>>?|>>?|<<?|>\|)")

Asker = Callable[[str, str], str]  # (kind, detail) -> "y" | "n" | "always"


class Refused(ToolError):
    """Not run, and no person said no: the message says why (read-only mode, no one to ask)."""


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
        if _writes_anyway(words):
            return False
    return True


_FIND_ACTS = {"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls"}
_BRANCH_LISTING = {"-a", "--all", "-r", "--remotes", "-v", "-vv", "--verbose", "--list", "-l",
                   "--show-current", "--contains", "--merged", "--no-merged", "--color", "--no-color"}


def _writes_anyway(words: list[str]) -> bool:
    """Programs of READ_ONLY that can still change things, given these arguments."""
    program = words[0]
    if program == "find":
        return any(w in _FIND_ACTS for w in words)
    if program == "env":  # `env` prints the environment; `env X=1 cmd` runs cmd
        return len(words) > 1
    if program in ("sort", "tree"):
        return any(w == "-o" or w.startswith(("-o", "--output", "--compress-program")) for w in words[1:])
    if program == "rg":  # --pre runs a program on every file it searches
        return any(w.startswith("--pre") for w in words[1:])
    if program == "uniq":  # `uniq IN OUT` writes OUT
        return len([w for w in words[1:] if not w.startswith("-")]) > 1
    if program == "git" and len(words) > 1:
        if words[1] == "branch":
            return any(w not in _BRANCH_LISTING for w in words[2:])
        if words[1] == "grep" and any(w.startswith(("-O", "--open-files-in-pager")) for w in words[2:]):
            return True
        return any(w.startswith("--output") for w in words[2:])
    return False


def outside_paths(command: str, roots: Iterable[Path | str] | None) -> list[str]:
    """The paths a command line names that lie outside `roots` (the first is where it runs).
    With `roots` None (not known), every absolute or home path counts as outside.

    A heuristic on the words of the line: absolute paths whose first folder exists (so "/api/v1"
    in a grep pattern is not a path), `~…`, `$HOME…`, and relative paths climbing out with `..`.
    """
    root_list = [os.path.realpath(r) for r in roots] if roots is not None else None
    found: list[str] = []
    for part in _SPLIT.split(command):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        for i, word in enumerate(words):
            for path in _path_words(word):
                if path in found or path in _HARMLESS:
                    continue
                if i == 0 and path.startswith(_SYSTEM_PROGRAMS):
                    continue
                if _is_outside(path, root_list):
                    found.append(path)
    return found


def _path_words(word: str) -> list[str]:
    """The candidate paths in one shell word: itself (less a redirect), and `--opt=PATH`'s value."""
    word = _REDIRECT_PREFIX.sub("", word)
    out = [word]
    if "=" in word:
        out.append(word.split("=", 1)[1])
    return [w for w in out if w]


def _is_outside(path: str, roots: list[str] | None) -> bool:
    if _HOME_VARS.match(path):
        path = _HOME_VARS.sub(lambda m: (os.environ.get(m.group(1)) or "/").rstrip("/") + m.group(2),
                              path, count=1) or "/"
    if path.startswith("~"):
        path = os.path.expanduser(path)
        if path.startswith("~"):  # ~otheruser that does not exist: still someone's home
            return True
    if path.startswith("/"):
        first = path.lstrip("/").split("/", 1)[0]
        if first and not os.path.exists("/" + first):
            return False  # "/api/v1", "/s/a/b/": a pattern, not a path on this machine
        if roots is None:
            return True
        full = path
    elif path == ".." or path.startswith("../") or "/../" in path or path.endswith("/.."):
        if roots is None:
            return os.path.normpath(path).startswith("..")
        full = os.path.join(roots[0], path)
    else:
        return False
    real = os.path.realpath(os.path.normpath(full))
    return not any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class Approval:
    """The user's approval policy, called by tools as `approve(kind, detail)`.

    `roots` are the folders commands may name (the workspace first, then `--add-dir` ones);
    None: not known, and any absolute path counts as outside. `sandboxed`: whether shell
    commands run in a sandbox (None: not known, the outside rule of `auto` is left to it).
    `sealable`: whether a sandbox can run commands with the workspace read-only (readonly
    runs shell commands only then).
    """

    def __init__(self, mode: str = "auto", ask: Asker | None = None,
                 allow: set[str] | None = None, roots: list[Path] | None = None,
                 sandboxed: bool | None = None, allow_outside: bool = False, sealable: bool = False):
        if mode not in MODES:
            raise ValueError(f"unknown approval mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = mode
        self.ask = ask
        self.always: set[str] = set(allow or ())
        self.roots = roots
        self.sandboxed = sandboxed
        self.allow_outside = allow_outside
        self.sealable = sealable

    def __call__(self, kind: str, detail: str) -> bool:
        if kind == "shell" and self.mode == "readonly":
            return self._read_only_shell(detail)
        if kind == "shell" and not self.allow_outside:
            outside = outside_paths(detail, self.roots)
            if outside:
                return self._shell_outside(detail, outside)
        if kind == "shell" and is_read_only(detail):
            return True
        if kind == "mcp_read":  # an MCP tool its server marks read-only (readOnlyHint)
            return True
        if self.mode == "readonly":
            raise Refused("not run: approval is readonly, which allows no writes (the user can "
                          "change it with /permissions)")
        if self.mode == "auto" or (kind == "write" and self.mode == "ask"):
            return True
        return self._ask(kind, detail, _key(kind, detail))

    def _shell_outside(self, command: str, outside: list[str]) -> bool:
        names = ", ".join(outside[:3]) + (" …" if len(outside) > 3 else "")
        if self.mode == "auto":
            if self.sandboxed is not False:  # the sandbox keeps everything outside read-only
                return True
            raise Refused(f"not run: it names {names}, outside the workspace; approval auto runs "
                          "only commands inside it, and there is no sandbox here to contain it. "
                          "Work inside the workspace (or the user can switch to /permissions ask)")
        return self._ask("shell_outside", command, f"shell_outside:{command.strip()}")

    def _read_only_shell(self, command: str) -> bool:
        """readonly: any command, run with the workspace mounted read-only (`shell` asks
        `seals`); one naming paths outside still needs a yes, since reading there is private."""
        if not self.sealable:
            raise Refused("not run: approval is readonly and there is no sandbox (bubblewrap) here "
                          "to mount the workspace read-only, so shell commands are off (install "
                          "bubblewrap, or the user can change it with /permissions)")
        outside = [] if self.allow_outside else outside_paths(command, self.roots)
        if outside:
            return self._shell_outside(command, outside)
        return True

    def seals(self, kind: str, detail: str = "") -> bool:
        """Whether a `kind` action allowed now must run with the workspace read-only: every
        command under readonly, and under ask one let through unasked as a reader (so a reader
        by name that writes, `rg --pre rm`, is stopped by the kernel where there is a sandbox)."""
        if kind != "shell":
            return False
        return self.mode == "readonly" or (self.mode == "ask" and is_read_only(detail)
                                           and not outside_paths(detail, self.roots))

    def _ask(self, kind: str, detail: str, key: str) -> bool:
        if key in self.always:
            return True
        if self.ask is None:
            raise Refused(f"not run: approval is {self.mode} and this needs a yes, but there is "
                          "no terminal to ask (--approval auto lets such commands run)")
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
    exact command when it names paths outside, the folder of a path outside the workspace,
    else the exact detail."""
    return _key(kind, detail)


def _key(kind: str, detail: str) -> str:
    if kind == "mcp":  # "always" covers the tool, whatever its arguments
        return f"{kind}:{detail.split(' ', 1)[0]}"
    if kind == "shell_outside":
        return f"{kind}:{detail.strip()}"
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
