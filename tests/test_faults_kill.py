"""SIGKILL at random points of real runs: every turn the model completed is on disk, the archive
reads cleanly, and every command that ran was recorded before it ran."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcli.library.archive import read_events
from agentcli.testing.scripted_server import Turn

STEPS = 6


def _script(req) -> Turn:
    """Turn k < STEPS: a command that takes a moment, then appends k; then the answer."""
    k = req.assistant_turns
    if k < STEPS:
        return Turn(text=f"Step {k}.", chunk_delay=0.004, tool_calls=[{"name": "shell", "arguments": {
            "command": f"sleep 0.1; echo {k} >> ledger"}}])
    return Turn(text="All steps done.", chunk_delay=0.004)


def _start(env: dict[str, str], workspace: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agentcli", "run", "do the steps", "-C",
                             str(workspace), "--model", "anthropic/m", "--output-format", "json",
                             *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _kill_at_a_random_point(proc: subprocess.Popen, srv, rng: random.Random) -> int:
    """SIGKILL once the server has had a random number of requests, plus a random delay."""
    wanted = rng.randint(1, STEPS + 1)
    deadline = time.monotonic() + 60
    while len(srv.requests) < wanted and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    delay = rng.uniform(0, 0.25)
    # After the last request the run ends within that delay (it only records the answer and
    # exits): the kill there comes at once, so that it still lands inside the final turn.
    if wanted <= STEPS:
        time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc.returncode


def _audit_after_kill(workspace: Path, srv) -> dict:
    """The archive against what the server saw and what ran. Returns the figures."""
    archives = list((workspace / ".agentcli").rglob("events.jsonl"))
    completed = max((r.assistant_turns for r in srv.requests), default=0)
    if not archives:  # killed before the session wrote anything
        assert completed == 0
        return {"completed": 0, "recorded": 0, "session": None}
    (archive,) = archives
    raw = archive.read_bytes()
    lines = raw.split(b"\n")
    for line in lines[:-1]:
        json.loads(line)  # every complete line parses; only an unfinished last line may not
    events = list(read_events(archive))
    assert [e["id"] for e in events] == [f"e{n:06d}" for n in range(1, len(events) + 1)]
    replies = [e["message"]["content"] for e in events if e["type"] == "assistant"]
    # The client asked for turn N only after turn N-1 and its tool results were written.
    assert replies[:completed] == [f"Step {k}." for k in range(completed)], (completed, replies)
    results = [e for e in events if e["type"] == "tool_result"]
    assert len(results) >= completed
    ledger = (workspace / "ledger").read_text().split() if (workspace / "ledger").exists() else []
    called = [e["call"]["arguments"]["command"].split()[-3] for e in events if e["type"] == "tool_call"]
    assert ledger == called[:len(ledger)]  # nothing ran that was not recorded first, nothing twice
    assert len(called) - len(results) <= 1  # at most the call the kill cut short has no result
    return {"completed": completed, "recorded": len(replies), "session": archive.parent.name}


@pytest.mark.slow
def test_sigkill_at_random_points_loses_no_completed_turn(server, cli, tmp_path):
    rng = random.Random(20240611)
    figures = []
    for run in range(20):
        workspace = tmp_path / f"ws{run}"
        workspace.mkdir()
        srv = server(_script)
        env = {**os.environ, **cli(srv).env}
        proc = _start(env, workspace)
        code = _kill_at_a_random_point(proc, srv, rng)
        time.sleep(0.2)  # a command the kill orphaned would show in the ledger by now
        figures.append((code, _audit_after_kill(workspace, srv)))
    print("\n".join(f"exit {code}: {f}" for code, f in figures))
    assert sum(code == -signal.SIGKILL for code, _ in figures) >= 18, figures
    # The kills landed all over the run: early, mid-tool, between turns, near the end.
    completed = [f["completed"] for _, f in figures]
    assert min(completed) <= 1 and max(completed) >= STEPS - 1 and len(set(completed)) >= 4, figures


def _assistant_texts(request) -> list[str]:
    texts = []
    for m in request.messages:
        if m.get("role") == "assistant":
            content = m.get("content")
            texts.append(content if isinstance(content, str) else
                         "".join(b.get("text", "") for b in content if b.get("type") == "text"))
    return texts


@pytest.mark.slow
def test_sigkill_then_resume_loses_no_completed_turn_and_runs_nothing_twice(server, cli, tmp_path):
    rng = random.Random(8)
    resumed = 0
    for run in range(20):
        workspace = tmp_path / f"ws{run}"
        workspace.mkdir()
        srv = server(_script)
        env = {**os.environ, **cli(srv).env}
        _kill_at_a_random_point(_start(env, workspace), srv, rng)
        time.sleep(0.2)
        before = _audit_after_kill(workspace, srv)
        if before["session"] is None:
            continue
        seen = len(srv.requests)
        proc = subprocess.run([sys.executable, "-m", "agentcli", "run", "go on", "-C", str(workspace),
                               "--model", "anthropic/m", "--output-format", "json", "--resume",
                               before["session"]], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1])["result"] == "All steps done."
        resumed += 1
        # The first request after the resume carries every turn that was on disk.
        first = srv.requests[seen]
        texts = _assistant_texts(first)
        assert texts[:before["completed"]] == [f"Step {k}." for k in range(before["completed"])]
        assert len(texts) >= before["recorded"]
        # Nothing ran twice: each step's command ran at most once across both processes.
        ledger = (workspace / "ledger").read_text().split()
        assert len(ledger) == len(set(ledger)), ledger
        events = list(read_events(next((workspace / ".agentcli").rglob("events.jsonl"))))
        assert [e["id"] for e in events] == [f"e{n:06d}" for n in range(1, len(events) + 1)]
        assert [e["type"] for e in events].count("session_resume") == 1
    assert resumed >= 18
