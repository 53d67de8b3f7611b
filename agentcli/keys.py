"""Provider keys out of reach of the commands agentcli runs.

A command can read its parent's environment as the parent was started
(`/proc/$PPID/environ`), and its memory (`/proc/$PPID/mem`); taking a key out of `os.environ`
changes neither. So at start, where a provider key is set, agentcli hands its provider settings
to a fresh copy of itself through a pipe and re-executes without them in the environment; that
copy puts them back in `os.environ` (for the SDKs and nested runs), which /proc never shows, and
then marks itself non-dumpable, which closes its /proc/PID/environ and /proc/PID/mem to other
processes of the same user. A root process's children could still read them with
CAP_SYS_PTRACE, so that capability leaves the bounding set: no command agentcli starts gets it.
Commands get the environment without provider settings (`sandbox.child_env`).
"""

from __future__ import annotations

import json
import os
import re
import sys

from agentcli.provider_env import KEYS_FD, is_provider_secret

MARKER = KEYS_FD  # the pipe's fd in the re-executed process; set by agentcli only
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _CAP_SYS_PTRACE = 4, 24, 19
_KEY_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.I)  # settings that are keys
_PIPE_ROOM = 60_000  # a pipe holds 64 KiB without a reader; settings beyond that stay as they are


_protected = False


def protect() -> None:
    """First thing in `main`: re-execute without provider keys in the environment (once), or
    take them back from the pipe when this is the re-executed process; then seal the process.
    A second call in the same process does nothing (the keys it took back would look like keys
    to hide again)."""
    global _protected
    if _protected:
        return
    _protected = True
    if MARKER in os.environ:  # the re-executed copy: config is imported for the command anyway
        from agentcli import config

        _receive(config.take_keys_fd())
    elif not _keys_set(os.environ):
        return
    elif _own_command() is not None:
        _reexec()  # returns only where exec failed
    _seal()


def _keys_set(env) -> bool:
    return any(is_provider_secret(n) and _KEY_NAME.search(n) and v for n, v in env.items())


def _own_command() -> list[str] | None:
    """The command line that started this process, when it is agentcli's own (not a test or
    another program calling `main` in-process)."""
    orig = list(getattr(sys, "orig_argv", []))
    args = sys.argv[1:]
    if not orig or (args and orig[-len(args):] != args):
        return None
    first = sys.argv[0]
    ours = os.path.basename(first).startswith("agentcli") or first == "-c" or \
        first.endswith(os.path.join("agentcli", "__main__.py"))
    return [sys.executable, *orig[1:]] if ours else None


def _reexec() -> None:
    handed = {n: v for n, v in os.environ.items() if is_provider_secret(n)}
    payload = json.dumps(handed).encode()
    if len(payload) > _PIPE_ROOM:
        return
    read_end, write_end = os.pipe()
    os.write(write_end, payload)
    os.close(write_end)
    os.set_inheritable(read_end, True)
    env = {n: v for n, v in os.environ.items() if n not in handed}
    env[MARKER] = str(read_end)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, _own_command() or [], env)
    except OSError:
        os.close(read_end)


def _receive(fd: int | None) -> None:
    if fd is None:
        return  # not a number: the marker was not agentcli's
    try:
        with os.fdopen(fd, "rb") as pipe:
            handed = json.loads(pipe.read(_PIPE_ROOM + 1) or b"{}")
    except (ValueError, OSError):
        return  # no pipe there: the marker was not agentcli's
    for name, value in handed.items():
        if isinstance(name, str) and isinstance(value, str):
            os.environ.setdefault(name, value)


def _seal() -> None:
    """Non-dumpable, and no CAP_SYS_PTRACE for children (Linux; elsewhere nothing to do)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(_PR_CAPBSET_DROP, _CAP_SYS_PTRACE, 0, 0, 0)  # fails without CAP_SETPCAP: not root
