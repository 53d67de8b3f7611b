"""What a tool implementation may touch: the workspace's paths, approvals, deadlines, the library."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


class ToolError(Exception):
    """A tool could not do what was asked; the message goes back to the model as the result."""


@dataclass
class Workspace:
    """The folder the agent works in, and the rule for which paths it may read and write.

    Paths are resolved through symlinks before the check, so a link pointing outside the
    workspace is outside. `extra_roots` are folders the user added; `allow_outside` lifts the rule.
    `protected` are folders inside the workspace that tools must not write (the library).
    `ask_outside(verb, real)` may let one outside path through: True allows it, False means the
    user declined, None leaves the rule as it is.
    """

    root: Path
    extra_roots: list[Path] = field(default_factory=list)
    allow_outside: bool = False
    protected: list[Path] = field(default_factory=list)
    ask_outside: Callable[[str, Path], bool | None] | None = None

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))
        self.extra_roots = [Path(os.path.realpath(p)) for p in self.extra_roots]
        self.protected = [Path(os.path.realpath(p)) for p in self.protected]

    def resolve(self, path: str, *, write: bool = False) -> Path:
        """The real absolute path for `path`, or ToolError if it may not be used."""
        if not isinstance(path, str) or not path.strip():
            raise ToolError("path is empty")
        if "\x00" in path:
            raise ToolError("path contains a NUL byte")
        try:
            os.fsencode(path)
        except UnicodeError:  # JSON can carry lone surrogates ("\ud800"); no file has that name
            raise ToolError(f"path {path!r} is not valid text (it holds a lone surrogate)") from None
        raw = Path(os.path.expanduser(path.strip()))
        full = raw if raw.is_absolute() else self.root / raw
        real = Path(os.path.realpath(full))
        if not self.allow_outside and not self._inside(real):
            verb = "write" if write else "read"
            answer = self.ask_outside(verb, real) if self.ask_outside else None
            if answer is False:
                raise ToolError(f"the user declined to {verb} {real} (outside the workspace {self.root})")
            if answer is None:
                raise ToolError(
                    f"refused to {verb} {path!r}: it resolves to {real}, outside the workspace {self.root}"
                )
        if write and any(real == p or p in real.parents for p in self.protected):
            raise ToolError(f"refused to write {path!r}: agentcli's library is append-only")
        return real

    def _inside(self, real: Path) -> bool:
        return any(real == r or r in real.parents for r in [self.root, *self.extra_roots])

    def display(self, real: Path) -> str:
        """A path as the model should see it: relative to the workspace where possible."""
        try:
            return str(real.relative_to(self.root)) or "."
        except ValueError:
            return str(real)


Approver = Callable[[str, str], bool]


def approve_all(kind: str, detail: str) -> bool:
    return True


@dataclass
class ToolContext:
    """Handed to every tool call.

    `approve(kind, detail)` asks the user's policy whether an action may run; kind is "shell"
    or "write". `deadline` is a time.monotonic() value no tool may run past. `library` gives
    the memory tools the session's library; `services` holds optional collaborators (sandbox,
    ledger) keyed by name; `toolsets` bring tools from outside agentcli's own table (MCP
    servers), which every ToolBox built on this context offers.
    """

    workspace: Workspace
    approve: Approver = approve_all
    deadline: float | None = None
    lean: bool = False
    library: Any = None
    services: dict[str, Any] = field(default_factory=dict)
    toolsets: list[Any] = field(default_factory=list)  # agentcli.tools.Toolset, beside the built-ins

    def time_left(self, default: float) -> float:
        """`default` seconds, cut short by the run's deadline."""
        if self.deadline is None:
            return default
        return max(0.0, min(default, self.deadline - time.monotonic()))
