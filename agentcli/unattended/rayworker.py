"""The worker side of `agentcli batch --executor ray`: one task, in a repository of its own.

`work` runs inside a Ray task on whichever node Ray picks; nothing of the user's machine is
there but what was shipped with the task. It builds a repository from the git bundle of the
task's base commit, runs `agentcli run` in it as a subprocess (as the local executor does, so a
crash of the run cannot take the worker down), and yields what the driver needs as it goes:

    {"kind": "start", ...}    where it runs, and its folders (so the driver can relocate paths)
    {"kind": "event", ...}    one line of the run's stream-json (the live view)
    {"kind": "ship", ...}     the work so far: new commits of the run's branch as a git bundle,
                              new bytes of the session's files, new lines of the run's stderr
    {"kind": "end", ...}      the run's exit code

A shipment goes after each model turn and every few seconds in between, so a worker that dies
loses only what came after the last one.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from agentcli.unattended.gitwork import BRANCH_PREFIX, GitError, git

SHIP_EVERY_S = 2.0
ARCHIVE = "events.jsonl"
# Kinds of stream-json events the driver's live view reads; the rest stay on the worker.
_FORWARDED = {"system", "assistant", "tool_call", "notice", "result"}


def work(spec: dict[str, Any], bundle: bytes, env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Run one batch task here. `spec`: name, prompt, base (commit), ref (its name in `bundle`),
    prefix (the task's folder inside the repository), argv (the `agentcli run` flags after the
    folder). `env`: provider settings, put into the run's environment only."""
    root = Path(tempfile.mkdtemp(prefix=f"agentcli-ray-{spec['safe']}-")).resolve()
    repo, library = root / "repo", root / "library"
    proc = None
    goes_on = spec.get("resume")
    try:
        _unbundle(bundle, root, repo, spec["ref"], spec["base"], keep=goes_on is not None)
        if goes_on:
            _restore(goes_on, repo, library)
        yield {"kind": "start", "pid": os.getpid(), "repo": str(repo), "library": str(library),
               **_where()}
        folder = repo / spec["prefix"] if spec["prefix"] else repo
        start = ["--resume", goes_on["session_id"]] if goes_on else ["-"]
        argv = [sys.executable, "-m", "agentcli", "run", *start, "-C", str(folder), *spec["argv"],
                "--library", str(library)]
        with open(root / "stderr.log", "wb") as stderr:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    cwd=folder, env={**os.environ, **env}, start_new_session=True,
                                    preexec_fn=_die_with_parent())
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(spec["prompt"].encode("utf-8"))
        proc.stdin.close()
        shipper = Shipper(repo, library, spec["base"], root / "stderr.log")
        if goes_on:
            shipper.going_on(goes_on["session_id"])
        yield from _follow(proc, shipper)
        code = proc.wait()
        proc = None
        parcel = shipper.parcel()
        if parcel:
            yield parcel
        yield {"kind": "end", "code": code}
    finally:
        if proc is not None:  # cancelled (Ctrl-C on the driver): the run stops cleanly
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def _follow(proc: subprocess.Popen, shipper: Shipper) -> Iterator[dict[str, Any]]:
    """The run's events as they come, and a shipment after each turn and every SHIP_EVERY_S."""
    lines: queue.Queue[bytes | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(raw)
        lines.put(None)

    threading.Thread(target=read, daemon=True, name="run-events").start()
    shipped = time.monotonic()
    while True:
        try:
            raw = lines.get(timeout=SHIP_EVERY_S)
        except queue.Empty:
            raw = b""
        if raw is None:
            return
        line = raw.decode("utf-8", errors="replace").strip()
        event = _parse(line)
        kind = event.get("type")
        if kind == "system" and shipper.session_id is None:
            shipper.session_id = event.get("session_id") or None
        if kind in _FORWARDED:
            yield {"kind": "event", "line": line}
        if kind in ("assistant", "result") or time.monotonic() - shipped >= SHIP_EVERY_S:
            parcel = shipper.parcel()
            if parcel:
                yield parcel
            shipped = time.monotonic()


class Shipper:
    """What of the run's work is new since the last shipment."""

    def __init__(self, repo: Path, library: Path, base: str, stderr: Path):
        self.repo, self.library, self.stderr = repo, library, stderr
        self.session_id: str | None = None
        self.head = base  # the driver has this commit, and every one shipped since
        self._sent: dict[str, tuple[int, int]] = {}  # file -> (size, mtime_ns) when last sent
        self._offsets: dict[str, int] = {ARCHIVE: 0, "stderr": 0}
        self._index_line = ""

    def going_on(self, session_id: str) -> None:
        """The session's files as they are now are the driver's already: ship only what changes."""
        self.session_id = session_id
        folder = self.library / "sessions" / session_id
        for path in (p for p in folder.rglob("*") if p.is_file()):
            st = path.stat()
            self._sent[path.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
        archive = folder / ARCHIVE
        self._offsets[ARCHIVE] = archive.stat().st_size if archive.exists() else 0

    def parcel(self) -> dict[str, Any] | None:
        """The next shipment, or None when nothing changed."""
        log = self._tail(self.stderr, "stderr", whole_lines=False)
        if self.session_id is None:
            return {"kind": "ship", "log": log} if log else None
        folder = self.library / "sessions" / self.session_id
        files: dict[str, bytes] = {}
        appends: dict[str, bytes] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"):
            rel = path.relative_to(folder).as_posix()
            if rel == ARCHIVE:
                chunk = self._tail(path, ARCHIVE, whole_lines=True)
                if chunk:
                    appends[ARCHIVE] = chunk
                continue
            st = path.stat()
            if self._sent.get(rel) != (st.st_size, st.st_mtime_ns):
                self._sent[rel] = (st.st_size, st.st_mtime_ns)
                files[rel] = path.read_bytes()
        bundle, head = self._bundle()
        index_line = self._root_index_line()
        if not (files or appends or bundle or log or index_line):
            return None
        return {"kind": "ship", "session_id": self.session_id, "files": files, "appends": appends,
                "bundle": bundle, "head": head, "index_line": index_line, "log": log}

    def _tail(self, path: Path, key: str, *, whole_lines: bool) -> bytes:
        try:
            with open(path, "rb") as f:
                f.seek(self._offsets[key])
                data = f.read()
        except OSError:
            return b""
        if whole_lines:  # a line being written now goes next time
            data = data[: data.rfind(b"\n") + 1]
        self._offsets[key] += len(data)
        return data

    def _bundle(self) -> tuple[bytes | None, str]:
        ref = f"refs/heads/{BRANCH_PREFIX}{self.session_id}"
        head = git(["rev-parse", "-q", "--verify", ref], self.repo, check=False).strip()
        if not head or head == self.head:
            return None, self.head
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "work.bundle"
            try:
                git(["bundle", "create", "-q", str(path), ref, f"^{self.head}"], self.repo)
            except GitError:
                return None, self.head  # mid-commit: next time
            data = path.read_bytes()
        self.head = head
        return data, head

    def _root_index_line(self) -> str:
        try:
            text = (self.library / "INDEX.md").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""
        mine = [ln for ln in text.splitlines() if ln.startswith(f"- {self.session_id} ")]
        line = mine[-1][len(f"- {self.session_id} "):] if mine else ""
        if line == self._index_line:
            return ""
        self._index_line = line
        return line


def _parse(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line) if line else {}
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def _unbundle(bundle: bytes, root: Path, repo: Path, ref: str, base: str, *, keep: bool) -> None:
    """A repository at `repo` with `base` checked out (detached); `keep`: `ref` stays (the
    branch of a run that goes on)."""
    path = root / "base.bundle"
    path.write_bytes(bundle)
    git(["init", "-q", str(repo)], root)
    git(["fetch", "-q", "--no-tags", "--no-write-fetch-head", str(path), f"{ref}:{ref}"], repo,
        timeout=1800)
    git(["checkout", "-q", "--detach", base], repo, timeout=1800)
    if not keep:
        git(["update-ref", "-d", ref], repo)
    path.unlink()


def _restore(goes_on: dict[str, Any], repo: Path, library: Path) -> None:
    """The session of a run that goes on, with the user's folders replaced by this worker's."""
    from agentcli.unattended.shipped import relocate

    moves = [(goes_on["repo"], str(repo)), (goes_on["library"], str(library))]
    folder = library / "sessions" / goes_on["session_id"]
    for rel, data in goes_on["files"].items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = data.decode("utf-8", errors="replace")
        path.write_text(relocate(text, moves, in_json=rel.endswith((".json", ".jsonl"))), encoding="utf-8")


def _where() -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    return {"node_id": context.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
            "resources": context.get_assigned_resources()}


def _die_with_parent():
    """On Linux, the run gets SIGTERM when this worker dies (killed, out of memory), instead of
    going on unseen and unshipped."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    set_pdeathsig = 1

    def child() -> None:
        prctl(set_pdeathsig, signal.SIGTERM)

    return child


def _stop(proc: subprocess.Popen) -> None:
    try:
        proc.terminate()
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except OSError:
        pass
