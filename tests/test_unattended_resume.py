"""SIGKILL in the middle of an unattended run, then `agentcli run --resume`: the same run goes
on with the same budgets, one ledger and one line of checkpoint commits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn
from tests.test_unattended_e2e import git, repo, user_texts  # noqa: F401 - the fixture

RESUMED = "[agentcli: unattended run resumed]"



def _write(name: str) -> dict:
    return {"name": "write", "arguments": {"path": name, "content": name + "\n"}}


def responder(req) -> Turn:
    texts = user_texts(req)
    if not any(t.startswith(RESUMED) for t in texts):
        step = req.assistant_turns
        if step == 0:
            return Turn(tool_calls=[_write("a.txt"), {"name": "progress", "arguments": {
                "milestone": "step a", "next": ["step b", "step c"]}}])
        if step == 1:
            return Turn(tool_calls=[_write("b.txt")])
        return Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 60"}}])
    # After the resume: count the assistant turns since the resume message.
    after = 0
    seen = False
    for m in req.messages:
        content = m.get("content")
        text = content if isinstance(content, str) else " ".join(
            b.get("text", "") for b in content or [] if isinstance(b, dict))
        if m.get("role") == "user" and RESUMED in text:
            seen, after = True, 0
        elif seen and m.get("role") == "assistant":
            after += 1
    if after == 0:
        return Turn(tool_calls=[_write("c.txt"), {"name": "progress", "arguments": {
            "milestone": "step c", "done": ["b and c written"], "next": []}}])
    return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "a, b and c"}}])


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_finishes_with_one_ledger_and_history(server, cli, repo):  # noqa: F811
    srv = server(responder)
    env = {**os.environ, **cli(srv).env}
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "run", "write a, b and c", "-C", str(repo),
                             "--model", "anthropic/m", "--checkpoint", "git", "--max-time", "10m"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(srv.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # inside `sleep 60` now
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    sessions = list((repo / ".agentcli" / "sessions").iterdir())
    assert len(sessions) == 1
    session_id = sessions[0].name
    killed_at = len(srv.requests)

    result, second = cli(srv).json("run", "--resume", session_id[:15], "-C", str(repo), timeout=120)
    assert second.returncode == 0, second.stderr
    assert result["stop_reason"] == "done" and result["session_id"] == session_id
    assert len(srv.requests) == killed_at + 2  # the killed `sleep 60` was not run again

    # One line of commits on the run's branch, with the work of both processes.
    cp = result["unattended"]["checkpoint"]
    log = git(repo, "log", "--format=%H %P %s", f"{cp['base']}..{cp['branch']}").splitlines()[::-1]
    subjects = [line.split(" ", 2)[2] for line in log]
    assert subjects == ["agentcli: milestone: step a",
                        "agentcli: work in progress when the run was interrupted",
                        "agentcli: milestone: step c"]
    parents = [line.split()[1] for line in log]
    assert parents == [cp["base"], log[0].split()[0], log[1].split()[0]]  # linear
    assert git(repo, "show", f"{log[1].split()[0]}:b.txt") == "b.txt\n"
    assert cp["commits"] == [line.split()[0] for line in log]
    assert git(repo, "status", "--porcelain") == ""  # the user's checkout: untouched

    # One ledger over both processes; the budget counts the time before the kill.
    folder = repo / ".agentcli" / "sessions" / session_id
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.count("unattended_start") == 1 and kinds.count("unattended_resume") == 1
    progress = (folder / "PROGRESS.md").read_text()
    assert "milestone: step a" in progress and "milestone: step c" in progress
    assert "resumed (the process ended before the run did: killed or crashed)" in progress
    assert progress.count("## Done") == 1 and "status: **done**" in progress
    used = result["unattended"]["used"]
    assert used["turns"] == killed_at + 2
    # The killed process's stretch counts up to its last record (not up to the resume).
    from agentcli.unattended.state import parse_ts

    at = kinds.index("session_resume")
    stretch = (parse_ts(events[at - 1]["ts"]) - parse_ts(events[kinds.index("unattended_start")]["ts"]))
    assert stretch.total_seconds() <= used["time_s"]
    assert result["unattended"]["limits"]["time_s"] == 600 and result["unattended"]["resumes"] == 1
    report = (folder / "REPORT.md").read_text()
    assert "Resumed 1 time(s)" in report and "**Done**" in report


def test_resume_with_more_time_keeps_the_rest_of_the_budget(server, cli, repo):  # noqa: F811
    srv = server([Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": f"*{i}"}}]) for i in range(3)]
                 + [Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])])
    first, _ = cli(srv).json("run", "x", "-C", str(repo), "--model", "openai/m", "--max-turns", "2",
                             "--max-tokens", "900k")
    assert first["stop_reason"] == "max_turns"
    again, _ = cli(srv).json("run", "--resume", first["session_id"], "-C", str(repo), "--max-turns", "10")
    assert again["stop_reason"] == "done"
    assert again["unattended"]["limits"]["turns"] == 10 and again["unattended"]["limits"]["tokens"] == 900_000
    assert again["unattended"]["used"]["turns"] == 4
    # The resumed session is told how an unattended run ends, as the first was.
    assert all("# Unattended run" in r.system for r in srv.requests)


def test_resume_of_an_unknown_session_is_a_one_line_error(cli, repo):  # noqa: F811
    proc = cli()("run", "--resume", "nope", "-C", str(repo), "--max-time", "1h")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "no session" in proc.stderr


def test_a_spent_time_budget_stays_spent_on_resume_until_raised(server, cli, repo):  # noqa: F811
    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 30"}}]),
                  Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])])
    first, _ = cli(srv).json("run", "x", "-C", str(repo), "--model", "openai/m", "--max-time", "3s")
    assert first["stop_reason"] == "time"
    calls = len(srv.requests)
    again, proc = cli(srv).json("run", "--resume", first["session_id"], "-C", str(repo))
    assert again["stop_reason"] == "time" and len(srv.requests) == calls  # no model call
    assert "--max-time" in again["result"]
    more, proc = cli(srv).json("run", "--resume", first["session_id"], "-C", str(repo), "--max-time", "5m")
    assert more["stop_reason"] == "done", proc.stderr
    assert more["unattended"]["used"]["time_s"] >= 3 and more["unattended"]["resumes"] == 2


@pytest.mark.slow
def test_the_time_between_a_stop_and_a_resume_is_not_working_time(server, cli, repo):  # noqa: F811
    # The user test: a run stops on --max-time, the person comes back later and resumes with a
    # bigger budget; the hours (here seconds) in between must not have eaten it.
    def responder(req) -> Turn:
        if any(t.startswith(RESUMED) for t in user_texts(req)):
            return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])
        n = req.assistant_turns
        return Turn(tool_calls=[{"name": "shell", "arguments": {"command": f"sleep 1; echo {n}"}}])

    srv = server(responder)
    first, _ = cli(srv).json("run", "x", "-C", str(repo), "--model", "openai/m", "--max-time", "2s")
    assert first["stop_reason"] == "time"
    worked = first["unattended"]["used"]["time_s"]
    time.sleep(8)
    calls = len(srv.requests)
    again, proc = cli(srv).json("run", "--resume", first["session_id"], "-C", str(repo), "--max-time", "8s")
    assert again["stop_reason"] == "done", proc.stderr
    assert len(srv.requests) > calls
    used = again["unattended"]["used"]["time_s"]
    assert worked - 1 <= used < worked + 6  # the first stretch plus the resumed one, not the pause
