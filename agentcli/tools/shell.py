"""`shell`: run a bash command in the workspace, capture exit code and output, enforce a timeout.

Output is streamed to temp files (at most HARD_CAP bytes a stream), never held whole in memory.
In a session, output up to INLINE_MAX goes into the result as it is (the session previews and
spills it if the window needs); larger output is written in full to the session's spill/ folder
and the result is a head+tail view naming the file and the event to page through.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agentcli import gitguard
from agentcli.tools.spill import result_target, threshold_tokens, full_view, write_full
from agentcli.sandbox import child_env, git_dirs
from agentcli.tools.context import ToolContext, ToolError
from agentcli.tools.output import StreamCapture, cap
from agentcli.types import ToolResult

DEFAULT_TIMEOUT = 120
MAX_TIMEOUT = 3600
# Without a session library, output beyond this is cut in the middle. Lean models get less.
MAX_CHARS, LEAN_MAX_CHARS = 30_000, 6_000
# Bytes kept of each stream; past it only the last 64 KiB are kept, so no command fills the disk.
HARD_CAP = 50 * 2**20
# Output up to this many bytes goes into the result (and the archive) as it is.
INLINE_MAX = 128 * 1024
# How long to wait for a pipe to close after bash has exited (a background child may hold it).
_GRACE_S = 0.5
# Bytes read back from each stream at most when there is no library to keep the rest.
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
    sandbox = ctx.services.get("sandbox")
    seals = getattr(ctx.approve, "seals", None)
    sealed = bool(seals("shell", command)) if seals else False
    if sealed and sandbox is None and getattr(ctx.approve, "mode", "") == "readonly":
        raise ToolError("not run: approval is readonly and there is no sandbox to keep the "
                        "workspace read-only")
    sealed = sealed and sandbox is not None
    repos = git_dirs(str(ctx.workspace.root))
    before = gitguard.snapshot(repos)
    started = time.monotonic()
    proc = _start(command, ctx, sandbox, sealed)
    out, err = StreamCapture(proc.stdout, HARD_CAP), StreamCapture(proc.stderr, HARD_CAP)
    try:
        code, timed_out = _wait(proc, timeout_left)
        elapsed = time.monotonic() - started
        sizes = out.finish(_GRACE_S), err.finish(_GRACE_S)
        header = f"exit code: {code}" if not timed_out else \
            f"timed out after {timeout_left:.0f}s; the command and its children were killed"
        meta = {"exit_code": None if timed_out else code, "timed_out": timed_out,
                "elapsed_s": round(elapsed, 3), "command": command}
        target = result_target(ctx.library)
        if target is not None and sum(sizes) > INLINE_MAX:
            content = _spilled(target, header, [("stdout", out, sizes[0]), ("stderr", err, sizes[1])],
                               ctx, meta)
        else:
            content = _inline(header, _read(out.file), _read(err.file),
                              None if target else (LEAN_MAX_CHARS if ctx.lean else MAX_CHARS))
    finally:
        out.close()
        err.close()
    if sandbox is not None and code != 0 and _SANDBOX_SYMPTOMS.search(content):
        content += _SANDBOX_NOTE if not sealed else _READ_ONLY_NOTE if \
            getattr(ctx.approve, "mode", "") == "readonly" else _READER_NOTE
    content += _git_note(before, repos, ctx, sandbox is not None, meta)
    return ToolResult(content, is_error=timed_out, meta=meta)


def _start(command: str, ctx: ToolContext, sandbox, sealed: bool) -> subprocess.Popen:
    """bash -c `command` in its own process group: in the sandbox, or under the reaper, so it
    ends with agentcli either way."""
    argv = ["bash", "-c", command]
    if sandbox is not None:
        argv = sandbox.wrap(argv, ctx.workspace, read_only=sealed)
    elif sys.platform.startswith("linux"):
        argv = [sys.executable, "-I", "-S", _REAPER, str(os.getpid()), *argv]
    try:
        return subprocess.Popen(
            argv, cwd=ctx.workspace.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, env=child_env(),
        )
    except OSError as exc:
        raise ToolError(f"could not start bash: {exc}") from exc


def _wait(proc: subprocess.Popen, timeout: float) -> tuple[int, bool]:
    """(exit code, whether it timed out); the command and its group never outlive the call."""
    try:
        return proc.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return proc.wait(), True
    except BaseException:
        # Interrupted (Ctrl-C) or a time budget: never leave the command running.
        _kill_group(proc)
        proc.wait()
        raise


def _git_note(before: dict[str, str], repos, ctx: ToolContext, sandboxed: bool,
              meta: dict[str, Any]) -> str:
    """Say so when the command changed what makes git start programs (.git/config, hooks):
    the user's next git command would run what it names. In the sandbox only a file that was
    not there to bind read-only can change, and it is removed again."""
    changed = gitguard.changes(before, gitguard.snapshot(repos))
    if not changed:
        return ""
    shown = [ctx.workspace.display(Path(p)) for p in changed]
    removed = gitguard.undo_added(before, changed) if sandboxed else []
    meta["git_changed"] = shown
    names = ", ".join(shown[:4]) + (" …" if len(shown) > 4 else "")
    if removed and len(removed) == len(changed):
        return f"\n[agentcli removed {names}: commands may not add git settings]"
    return (f"\n[warning: this command changed {names}, which git reads to decide what programs "
            "to run; the user's own git commands would run them. agentcli's git commands do not]")


_REAPER = str(Path(__file__).with_name("_reaper.py"))
_SANDBOX_NOTE = ("\n[this ran in agentcli's sandbox: no network, and only the workspace is "
                 "writable. If the task needs more, say so: the user can start agentcli with "
                 "--sandbox off]")
_READER_NOTE = ("\n[it ran without asking, as a command that only reads, so with the workspace "
                "mounted read-only; a command that changes files is asked for first]")
_READ_ONLY_NOTE = ("\n[approval is readonly: commands run with the workspace mounted read-only "
                   "(the user can change it with /permissions)]")


# What a command says when the sandbox, not the command, is what stopped it.
_SANDBOX_SYMPTOMS = re.compile(r"Read-only file system|Temporary failure in name resolution|"
                               r"Network is unreachable|Could not resolve host|Name or service not "
                               r"known|No address associated with hostname|getaddrinfo failed")


def _inline(header: str, stdout: str, stderr: str, limit: int | None) -> str:
    parts = [header]
    if stdout:
        parts.append("stdout:\n" + (cap(stdout, limit) if limit else stdout))
    if stderr:
        parts.append("stderr:\n" + (cap(stderr, limit // 2) if limit else stderr))
    if not stdout and not stderr:
        parts.append("(no output)")
    return "\n".join(parts)


def _spilled(target, header: str, streams, ctx: ToolContext, meta: dict[str, Any]) -> str:
    """Keep the whole output in the library and return the view of it the model gets."""
    present = [(name, cap_.file) for name, cap_, size in streams if size]
    # Small enough that the session never spills the view again (that would name another file).
    limit = min(LEAN_MAX_CHARS if ctx.lean else MAX_CHARS, 2 * threshold_tokens(target.window))
    try:
        sections = write_full(target, header, present)
    except OSError as exc:  # a full disk must not lose the result itself
        view = _inline(header, _read(streams[0][1].file), _read(streams[1][1].file), limit)
        return view + f"\n[the full output could not be kept in the library: {exc.strerror or exc}]"
    meta.update(full_output=target.relative, output_bytes=sum(size for _, _, size in streams),
                output_lines=sum(s.lines for s in sections))
    view = full_view(target, header, sections, limit)
    for name, capture, _ in streams:
        if capture.cut:  # the model must not take the kept part for all of it
            meta[f"{name}_bytes_cut"] = capture.cut
            view += (f"\n[{name} passed the {HARD_CAP // 2**20} MiB agentcli keeps of a stream: "
                     f"{capture.cut:,} bytes after that were not kept; its last "
                     f"{capture.dropped - capture.cut:,} bytes were, and end the view above]")
    return view


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
