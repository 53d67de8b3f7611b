"""Running `shell` commands under bubblewrap: the workspace writable, the rest read-only, no network.

`--sandbox auto` (the default) uses it, in headless runs and in the chat, where `bwrap` is
installed and works;
`on` insists on it (a one-line error where it cannot be had); `off` runs commands directly. In
the sandbox, the workspace and folders added with `--add-dir` are writable, the library inside
the workspace stays read-only (it is append-only and agentcli's own), `/tmp` is a private empty
folder, `/run` and `/var/run` are empty (no host sockets), every other path is read-only, and
there is no network but loopback. What makes git start programs (`.git/config`, hooks, info) is
read-only too, and under approval readonly so is the workspace. Debian and Ubuntu ship bwrap as
the `bubblewrap` package.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agentcli import config
from agentcli.gitguard import sealed_paths
from agentcli.provider_env import is_provider_secret


class Workspace(Protocol):
    """The folders a command may see and write (agentcli.tools.context.Workspace is the one)."""

    root: Path
    extra_roots: list[Path]  # folders the user added
    allow_outside: bool  # the user lifted the path rule
    protected: list[Path]  # inside the workspace, never writable (the library)


MODES = ("auto", "on", "off")
INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap)"


class SandboxError(ValueError):
    """The sandbox was asked for and cannot be had; the message is one line for people."""


@dataclass
class Sandbox:
    """Wraps an argv so it runs inside bubblewrap. `network` True keeps the host network."""

    bwrap: str
    network: bool = False

    def wrap(self, argv: list[str], workspace: Workspace, *, read_only: bool = False) -> list[str]:
        """`argv` run by bwrap with the workspace's writable roots bound read-write, or with
        nothing writable but a private /tmp when `read_only` (approval readonly)."""
        args = [self.bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
        if not self.network:
            args.append("--unshare-net")  # also cuts abstract Unix sockets: they live in the net namespace
        if workspace.allow_outside and not read_only:  # the user lifted the path rule
            args += ["--bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        else:
            args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
            for kept in _programs_in_tmp():  # the private /tmp must not hide a venv or tools in it
                args += ["--ro-bind", kept, kept]
        # Host services listen on sockets in /run (docker.sock, the user's D-Bus, systemd).
        for run_dir in _RUN_DIRS:
            if os.path.isdir(run_dir) and not os.path.islink(run_dir):
                args += ["--tmpfs", run_dir]
        if read_only:  # still bound: the private /tmp would hide a workspace kept under it
            args += [a for root in [workspace.root, *workspace.extra_roots] if root.exists()
                     for a in ("--ro-bind", str(root), str(root))]
        else:
            args += self._writable(workspace)
        # What makes git start programs stays read-only, so no command can set up one that the
        # user's next `git status` runs on the host.
        for path in sealed_paths(git_dirs(str(workspace.root))):
            args += ["--ro-bind", str(path), str(path)]
        for path in workspace.protected:
            if path.exists():  # bwrap refuses to bind what is not there
                args += ["--ro-bind", str(path), str(path)]
        return args + ["--chdir", str(workspace.root), "--", *argv]

    @staticmethod
    def _writable(workspace: Workspace) -> list[str]:
        args: list[str] = []
        roots = [workspace.root, *workspace.extra_roots]
        if not workspace.allow_outside:
            for root in roots:
                if root.exists():
                    args += ["--bind", str(root), str(root)]
        found = sorted(git_dirs(str(workspace.root)), key=lambda g: len(g.parts))  # outer ones first
        # A workspace inside a repository, or a linked worktree, keeps its git folder elsewhere:
        # bind it writable, so `git commit` works, and let git find it across the workspace's
        # mount point. Every git folder becomes a mount point that way, which also keeps a
        # command from moving it aside and putting a folder with a config of its own there.
        for git_dir in found:
            args += ["--bind", str(git_dir), str(git_dir)]
        if any(not any(g == r or r in g.parents for r in roots) for g in found):
            args += ["--setenv", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "1"]
        return args


# Where host services keep their sockets; each becomes an empty folder in the sandbox.
_RUN_DIRS = ("/run", "/var/run")


def _programs_in_tmp() -> list[str]:
    """Folders under /tmp that programs come from (this Python's environment, PATH entries, an
    active virtualenv): a checkout or a CI job in /tmp still finds its interpreter and tools."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.environ.get("VIRTUAL_ENV", ""),
                  *os.environ.get("PATH", "").split(os.pathsep)]
    kept: list[str] = []
    for path in candidates:
        real = os.path.realpath(path) if path else ""
        if real.startswith("/tmp/") and os.path.isdir(real) and real not in kept:
            kept.append(real)
    # A parent bound first, then its children would be bound again: keep the outermost only.
    return [k for k in kept if not any(k != o and k.startswith(o + "/") for o in kept)]


# Keep programs from waiting on a pager or an editor nobody will see.
_QUIET = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "EDITOR": "true"}


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a command the model runs (in the sandbox or not): this process's,
    without provider keys, with pagers and editors turned off."""
    env = dict(os.environ if env is None else env)
    passed = config.env(env).pass_env
    out = {k: v for k, v in env.items() if k.upper() in passed or not is_provider_secret(k)}
    out.update(_QUIET)
    return out


@functools.lru_cache(maxsize=64)
def git_dirs(root: str) -> tuple[Path, ...]:
    """The git folders of the repository holding `root` (its own and the common one), if any."""
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--absolute-git-dir", "--git-common-dir"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ()
    if out.returncode != 0:
        return ()
    found = []
    for line in out.stdout.splitlines():
        path = Path(line.strip()) if os.path.isabs(line.strip()) else Path(root) / line.strip()
        real = Path(os.path.realpath(path))
        if line.strip() and real.is_dir() and real not in found:
            found.append(real)
    return tuple(found)


@functools.lru_cache(maxsize=None)
def probe(bwrap: str | None = None) -> tuple[str | None, str]:
    """(path to a working bwrap, "") or (None, why not). Tried once per process: some containers
    have bwrap but forbid the namespaces it needs."""
    path = bwrap or shutil.which("bwrap")
    if path is None:
        return None, f"bwrap is not installed; {INSTALL_HINT}"
    try:
        proc = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-net", "--unshare-pid", "--die-with-parent", "true"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"bwrap cannot run here: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return None, f"bwrap cannot create a sandbox here: {detail}"
    return path, ""


def resolve_mode(mode: str | None) -> str:
    """The mode asked for: the flag, else AGENTCLI_SANDBOX, else auto. Raises SandboxError."""
    chosen = (mode or config.env().sandbox or "auto").strip().lower()
    if chosen not in MODES:
        raise SandboxError(f"--sandbox must be auto, on or off, not {chosen!r}")
    return chosen


def choose(mode: str | None, *, headless: bool) -> tuple[Sandbox | None, str | None]:
    """(the sandbox to use or None, a notice for the user or None). Raises SandboxError when
    the sandbox is required (`on`) and cannot be had. `headless` shapes the notice only: the
    chat and headless runs get the same sandbox."""
    chosen = resolve_mode(mode)
    if chosen == "off":
        return None, None
    path, why = probe()
    if path is not None:
        return Sandbox(path), None
    if chosen == "on":
        raise SandboxError(f"--sandbox on: {why}; or run with --sandbox off")
    if headless:
        return None, f"shell commands run without a sandbox: {why} (or pass --sandbox off)"
    return None, (f"shell commands run without a sandbox: {why}. Only the approval mode guards "
                  "them: commands naming paths outside the workspace ask (ask) or are refused "
                  "(auto); --sandbox off hides this notice")
