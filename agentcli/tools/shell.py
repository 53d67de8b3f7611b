"""`shell`: run a bash command in the workspace, capture exit code and output, enforce a timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from typing import Any

from agentcli.tools.context import ToolContext, ToolError
from agentcli.tools.output import cap
from agentcli.types import ToolResult

DEFAULT_TIMEOUT = 120
MAX_TIMEOUT = 3600
# Output beyond this is cut in the middle. Lean models get less.
MAX_CHARS, LEAN_MAX_CHARS = 30_000, 6_000
# Bytes read back from each stream at most: a command may print gigabytes to its temp file.
_READ_LIMIT = 4 * 1024 * 1024


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    command: str = args["command"]
    if "\x00" in command:
        raise ToolError("command contains a NUL byte")
    if not command.strip():
        raise ToolError("command is empty")
    if not ctx.approve("shell", command):
        raise ToolError(f"the user declined to run: {command}")
    timeout = min(max(1, int(args.get("timeout") or DEFAULT_TIMEOUT)), MAX_TIMEOUT)
    timeout_left = ctx.time_left(timeout)
    if timeout_left <= 0:
        raise ToolError("the run's time budget is spent; the command was not started")

    argv = ["bash", "-c", command]
    sandbox = ctx.services.get("sandbox")
    if sandbox is not None:
        argv = sandbox.wrap(argv, ctx.workspace)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                argv, cwd=ctx.workspace.root, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, env=_env(ctx),
            )
        except OSError as exc:
            raise ToolError(f"could not start bash: {exc}") from exc
        timed_out = False
        try:
            code = proc.wait(timeout=timeout_left)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            code = proc.wait()
        except BaseException:
            # Interrupted (Ctrl-C) or a time budget: never leave the command running.
            _kill_group(proc)
            proc.wait()
            raise
        elapsed = time.monotonic() - started
        stdout, stderr = _read(out), _read(err)

    limit = LEAN_MAX_CHARS if ctx.lean else MAX_CHARS
    parts = [f"exit code: {code}" if not timed_out else
             f"timed out after {timeout_left:.0f}s; the command and its children were killed"]
    if stdout:
        parts.append("stdout:\n" + cap(stdout, limit))
    if stderr:
        parts.append("stderr:\n" + cap(stderr, limit // 2))
    if not stdout and not stderr:
        parts.append("(no output)")
    meta = {"exit_code": None if timed_out else code, "timed_out": timed_out,
            "elapsed_s": round(elapsed, 3), "command": command}
    return ToolResult("\n".join(parts), is_error=timed_out, meta=meta)


def _env(ctx: ToolContext) -> dict[str, str]:
    env = dict(os.environ)
    # Keep programs from waiting on a pager or an editor nobody will see.
    env.update({"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "EDITOR": "true"})
    return env


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(f) -> str:
    size = f.seek(0, os.SEEK_END)
    if size <= _READ_LIMIT:
        f.seek(0)
        return f.read().decode("utf-8", errors="replace")
    half = _READ_LIMIT // 2
    f.seek(0)
    head = f.read(half).decode("utf-8", errors="replace")
    f.seek(size - half)
    tail = f.read().decode("utf-8", errors="replace")
    return f"{head}\n[... {size - 2 * half} bytes cut ...]\n{tail}"
