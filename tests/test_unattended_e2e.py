"""Unattended runs end to end: the real CLI against the scripted server, budgets, stops, the
ledger, the report, and git checkpoints that never touch the user's checkout."""

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

CONTINUE = "[agentcli: unattended run] You ended your turn without calling `finish`"
NUDGE = "You seem to be stuck"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "u", "GIT_AUTHOR_EMAIL": "u@x",
                               "GIT_COMMITTER_NAME": "u", "GIT_COMMITTER_EMAIL": "u@x"}).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a bug (add subtracts) and a test for it."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "init")
    return root


def session_dir(result: dict, root: Path) -> Path:
    return root / ".agentcli" / "sessions" / result["session_id"]


def user_texts(req) -> list[str]:
    """Every text the harness or the user sent in a request, oldest first (both wires)."""
    out = []
    for m in req.messages:
        if m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            out.append(content)
        else:
            out += [b.get("text", "") for b in content if b.get("type") == "text"]
    return out


def continues(srv) -> int:
    """How many continue messages the last request carries."""
    return sum(1 for t in user_texts(srv.requests[-1]) if t.startswith(CONTINUE))


def nudges(srv) -> list[str]:
    return [t for t in user_texts(srv.requests[-1]) if NUDGE in t]


FIX_SCRIPT = [
    Turn(text="Plan.", tool_calls=[{"name": "progress", "arguments": {
        "success_criteria": ["test_calc passes"], "next": ["run the test", "fix add"]}}]),
    Turn(tool_calls=[{"name": "shell", "arguments": {"command": "python -m pytest -q test_calc.py"}}]),
    Turn(text="The test fails. I will look at calc.py next."),
    Turn(tool_calls=[{"name": "edit", "arguments": {"path": "calc.py", "old": "a - b", "new": "a + b"}}]),
    Turn(text="Edited calc.py. Shall I run the tests?"),
    Turn(tool_calls=[{"name": "shell", "arguments": {"command": "python -m pytest -q test_calc.py"}},
                     {"name": "progress", "arguments": {"milestone": "add fixed", "done": ["fixed add"],
                                                        "next": []}}]),
    Turn(text="Everything looks good now."),
    Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "Fixed add().",
                                                      "evidence": "pytest: 1 passed"}}]),
    Turn(text="(the run should have ended before this turn)"),
]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_run_continues_until_finish_and_leaves_ledger_and_report(provider, server, cli, repo):
    srv = server(FIX_SCRIPT)
    result, proc = cli(srv).json("run", "Fix add so that `python -m pytest -q test_calc.py` passes",
                                 "-C", str(repo), "--model", f"{provider}/m", "--max-time", "5m")
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "done" and result["is_error"] is False
    assert result["result"] == "Fixed add()."
    assert result["num_turns"] == 8 and len(srv.requests) == 8
    assert continues(srv) == 3  # three answers without finish were continued, not accepted
    assert "finish" in srv.requests[0].tool_names and "progress" in srv.requests[0].tool_names
    assert "Unattended run" in srv.requests[0].system
    assert "add(a, b):\n    return a + b" in (repo / "calc.py").read_text()  # worked in place
    # The continue message carries the ledger and the budget left.
    first = next(t for t in user_texts(srv.requests[-1]) if t.startswith(CONTINUE))
    assert "left of 5m" in first and "fix add" in first and "Success criteria" in first

    folder = session_dir(result, repo)
    progress = (folder / "PROGRESS.md").read_text()
    assert "status: **done**" in progress
    assert "fixed add" in progress and "milestone: add fixed" in progress
    assert "shell `python -m pytest -q test_calc.py` → exit 1 · tests: 1 failed" in progress
    assert "shell `python -m pytest -q test_calc.py` → exit 0 · tests: 1 passed" in progress
    assert "edited calc.py" in progress
    # The harness ran the test the task named before accepting done.
    assert "check `python -m pytest -q test_calc.py` passed" in progress
    report = (folder / "REPORT.md").read_text()
    for heading in ("## What was asked", "## What was done", "## Evidence", "## What remains"):
        assert heading in report
    assert "**Done**" in report and "`python -m pytest -q test_calc.py` — passed (1 passed)" in report
    assert result["unattended"]["checks"][0]["passed"] is True
    assert result["unattended"]["report_file"] == str(folder / "REPORT.md")


def test_done_is_refused_while_the_check_fails_then_accepted(server, cli, repo):
    srv = server([
        Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "all good"}}]),
        Turn(tool_calls=[{"name": "edit", "arguments": {"path": "calc.py", "old": "a - b", "new": "a + b"}}]),
        Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "fixed"}}]),
    ])
    result, proc = cli(srv).json("run", "fix calc", "-C", str(repo), "--model", "openai/m",
                                 "--check", "python -m pytest -q test_calc.py")
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "done" and result["result"] == "fixed"
    refusal = srv.requests[1].tool_results()[-1]
    assert refusal.startswith("finish refused: `python -m pytest -q test_calc.py` did not pass (1 failed)")
    assert "assert -1 == 5" in refusal  # the check's own output, for the model to act on
    assert [c["passed"] for c in result["unattended"]["checks"]] == [False, True]


def test_blocked_ends_the_run_with_the_reason(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "finish", "arguments": {
        "status": "blocked", "summary": "needs the STRIPE_KEY secret to run the integration tests"}}])])
    result, proc = cli(srv).json("run", "run the integration tests", "-C", str(repo),
                                 "--model", "anthropic/m", "--unattended")
    assert proc.returncode == 1
    assert result["stop_reason"] == "blocked" and "STRIPE_KEY" in result["result"]
    assert "**Blocked**" in (session_dir(result, repo) / "REPORT.md").read_text()


def test_a_done_marker_in_text_ends_the_run(server, cli, repo):
    srv = server([Turn(text="Working on it."), Turn(text="All finished.\n\nDONE")])
    result, proc = cli(srv).json("run", "say hi", "-C", str(repo), "--model", "openai/m", "--unattended")
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "done" and result["num_turns"] == 2 and continues(srv) == 1


def test_token_budget_stops_the_run(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": "*.py"}}]),
                  Turn(tool_calls=[{"name": "read", "arguments": {"path": "calc.py"}}]),
                  Turn(tool_calls=[{"name": "read", "arguments": {"path": "test_calc.py"}}])])
    result, proc = cli(srv).json("run", "explore", "-C", str(repo), "--model", "anthropic/m",
                                 "--max-tokens", "2k")
    assert proc.returncode == 1
    assert result["stop_reason"] == "budget" and "--max-tokens" in result["result"]
    assert result["num_turns"] == 1  # the first turn used more than 2k tokens; no second call
    assert result["unattended"]["used"]["tokens"] >= 2000


def test_cost_budget_stops_the_run_on_a_priced_model(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": f"*{i}*"}}]) for i in range(30)])
    result, proc = cli(srv).json("run", "explore", "-C", str(repo), "--model",
                                 "anthropic/claude-sonnet-4-5", "--max-cost", "0.02")
    assert proc.returncode == 1 and result["stop_reason"] == "budget"
    assert "$0.02 (--max-cost)" in result["result"]
    assert 0.02 <= result["unattended"]["used"]["cost_usd"] < 0.04 and result["num_turns"] < 10


def test_unknown_price_says_max_cost_cannot_be_enforced(server, cli, repo):
    srv = server([Turn(text="DONE")])
    proc = cli(srv)("run", "x", "-C", str(repo), "--model", "openai/mystery", "--max-cost", "1")
    assert proc.returncode == 0
    lines = [ln for ln in proc.stderr.splitlines() if "--max-cost" in ln]
    assert len(lines) == 1 and "price of openai/mystery is unknown" in lines[0]


def test_time_limit_holds_while_the_model_is_answering(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": "*"}}]),
                  Turn(text="slow", delay=60)])
    started = time.monotonic()
    result, proc = cli(srv).json("run", "x", "-C", str(repo), "--model", "anthropic/m", "--max-time", "4s")
    assert time.monotonic() - started < 30
    assert proc.returncode == 1 and result["stop_reason"] == "time"
    events = [json.loads(line) for line in
              (session_dir(result, repo) / "events.jsonl").read_text().splitlines()]
    interrupted = [e for e in events if e["type"] == "assistant" and e["stop_reason"] == "interrupted"]
    assert len(interrupted) == 1 and "time budget" in interrupted[0]["message"]["content"]
    assert events[-1]["type"] == "run_end" and events[-1]["stop_reason"] == "time"


def test_time_limit_holds_while_a_command_runs(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 60", "timeout": 600}}]),
                  Turn(text="after")])
    started = time.monotonic()
    result, proc = cli(srv).json("run", "x", "-C", str(repo), "--model", "openai/m", "--max-time", "3s")
    assert time.monotonic() - started < 30
    assert result["stop_reason"] == "time" and len(srv.requests) == 1


def test_repeated_call_is_nudged_then_stopped_as_stalled(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {"command": "python -m pytest -q"}}])])
    result, proc = cli(srv).json("run", "make the tests pass", "-C", str(repo), "--model", "anthropic/m",
                                 "--unattended")
    assert proc.returncode == 1 and result["stop_reason"] == "stalled"
    assert "the same call (shell `python -m pytest -q`) gave the same result" in result["result"]
    assert "Tried: shell `python -m pytest -q`" in result["result"]
    sent = nudges(srv)
    assert len(sent) == 1 and "Progress ledger" in sent[0]
    assert len(srv.requests) < 10
    report = (session_dir(result, repo) / "REPORT.md").read_text()
    assert "Stopped: stalled" in report and "Nudged 1 time(s)" in report


def test_oscillating_edits_are_stopped_as_stalled(server, cli, repo):
    flip = [{"name": "edit", "arguments": {"path": "calc.py", "old": "a - b", "new": "a + b"}},
            {"name": "edit", "arguments": {"path": "calc.py", "old": "a + b", "new": "a - b"}}]
    srv = server(lambda req: Turn(tool_calls=[flip[req.assistant_turns % 2]]))
    result, proc = cli(srv).json("run", "fix", "-C", str(repo), "--model", "openai/m", "--unattended")
    assert result["stop_reason"] == "stalled", result
    assert "went back to an earlier state" in result["result"] or "same result" in result["result"]
    assert len(srv.requests) < 16


def test_answers_without_progress_stall_instead_of_running_forever(server, cli, repo):
    srv = server([Turn(text="I think everything is fine.")])
    result, proc = cli(srv).json("run", "check", "-C", str(repo), "--model", "anthropic/m",
                                 "--unattended", "--stall-turns", "3")
    assert result["stop_reason"] == "stalled" and "nothing new was learned" in result["result"]
    assert len(srv.requests) <= 8


def test_sigterm_stops_cleanly_with_a_report(server, cli, repo):
    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 60"}}])])
    env = {**os.environ, **cli(srv).env}
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "run", "x", "-C", str(repo), "--model",
                             "openai/m", "--unattended", "--output-format", "json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not srv.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # inside `sleep 60` now
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["stop_reason"] == "interrupted" and "SIGTERM" in result["result"], err
    assert proc.returncode == 143  # what a shell shows for SIGTERM, after the clean stop
    assert (session_dir(result, repo) / "REPORT.md").exists()


@pytest.mark.parametrize("args,needle", [
    (["--max-time", "soon"], "cannot read duration 'soon'"),
    (["--max-time", "0s"], "must be more than zero"),
    (["--max-cost", "lots"], "cannot read cost"),
    (["--max-tokens", "many"], "cannot read token count"),
    (["--checkpoint", "svn"], "--checkpoint must be 'git'"),
])
def test_bad_budget_flags_are_one_line_errors(args, needle, cli, repo):
    proc = cli()("run", "x", "-C", str(repo), *args)
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (repo / ".agentcli").exists()


def _user_view(root: Path) -> dict:
    """Everything of the user's checkout a run must leave alone."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and ".git" not in p.relative_to(root).parts
             and ".agentcli" not in p.relative_to(root).parts}
    return {"head": git(root, "rev-parse", "HEAD"), "branch": git(root, "branch", "--show-current"),
            "status": git(root, "status", "--porcelain", "--ignored"),
            "staged": git(root, "diff", "--cached"),
            "unstaged": git(root, "diff"), "index": git(root, "ls-files", "-s"), "files": files,
            "stash": git(root, "stash", "list")}


def test_git_checkpoints_commit_on_their_own_branch_and_never_touch_the_users_checkout(server, cli, repo):
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore logs")
    (repo / "README.md").write_text("staged change\n")
    git(repo, "add", "README.md")
    (repo / "test_calc.py").write_text((repo / "test_calc.py").read_text() + "# unstaged change\n")
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "debug.log").write_text("ignored\n")
    # Calibrate: how many tokens one turn of this script uses, to place the budget marks.
    blocked = {"name": "finish", "arguments": {"status": "blocked", "summary": "x"}}
    probe = server([Turn(tool_calls=[blocked])])
    once, _ = cli(probe).json("run", "probe", "-C", str(repo), "--model", "anthropic/m", "--unattended")
    per_turn = once["unattended"]["used"]["tokens"]
    before = _user_view(repo)

    writes = [Turn(tool_calls=[{"name": "write", "arguments": {"path": f"step{i}.txt", "content": f"{i}\n"}}])
              for i in range(8)]
    srv = server([
        Turn(tool_calls=[{"name": "edit", "arguments": {"path": "calc.py", "old": "a - b", "new": "a + b"}},
                         {"name": "progress", "arguments": {"milestone": "add fixed", "done": ["fixed add"],
                                                            "next": ["write the steps"]}}]),
        *writes])
    result, proc = cli(srv).json("run", "fix add, then write step files", "-C", str(repo), "--model",
                                 "anthropic/m", "--checkpoint", "git", "--max-tokens", str(per_turn * 6))
    assert result["stop_reason"] == "budget", proc.stderr
    assert _user_view(repo) == before  # branch, HEAD, index, staged/unstaged/untracked/ignored files

    cp = result["unattended"]["checkpoint"]
    assert cp["branch"] == f"agentcli/{result['session_id']}" and cp["snapshot"] is True
    worktree = Path(cp["worktree"])
    assert "a + b" in (worktree / "calc.py").read_text()
    # The run started from what the user saw: their uncommitted and untracked work, not ignored files.
    base_files = git(repo, "ls-tree", "-r", "--name-only", cp["base"]).split()
    assert {"README.md", "notes.txt", "test_calc.py"} <= set(base_files) and "debug.log" not in base_files
    assert git(repo, "show", f"{cp['base']}:README.md") == "staged change\n"
    log = git(repo, "log", "--format=%H %s", f"{cp['base']}..{cp['branch']}").splitlines()[::-1]
    subjects = [line.split(" ", 1)[1] for line in log]
    assert subjects[0] == "agentcli: milestone: add fixed"
    assert "agentcli: checkpoint at 25% of the tokens budget" in subjects
    assert "agentcli: checkpoint at 50% of the tokens budget" in subjects
    assert subjects[-1].startswith("agentcli: budget: the token budget is spent")
    assert [line.split()[0] for line in log] == cp["commits"]  # the ledger knows every commit
    body = git(repo, "log", "-1", "--format=%B", log[0].split()[0])
    assert "Done:\n- fixed add" in body and "Next:\n- write the steps" in body
    assert git(worktree, "status", "--porcelain") == ""  # the final commit left nothing behind
    report = (session_dir(result, repo) / "REPORT.md").read_text()
    assert cp["branch"] in report and "git -C" in report and "apply" in report


def test_checkpoint_git_outside_a_repository_is_a_one_line_error(server, cli, tmp_path):
    srv = server([Turn(text="DONE")])
    plain = tmp_path / "plain"
    plain.mkdir()
    proc = cli(srv)("run", "x", "-C", str(plain), "--model", "openai/m", "--checkpoint", "git")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "needs a git repository" in proc.stderr and not srv.requests


def test_a_failed_start_removes_the_worktree_it_made(cli, repo):
    proc = cli()("run", "x", "-C", str(repo), "--model", "anthropic/m", "--checkpoint", "git")
    assert proc.returncode == 1 and "ANTHROPIC_API_KEY" in proc.stderr
    assert git(repo, "branch", "--list", "agentcli/*") == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1


@pytest.mark.slow
def test_a_provider_outage_is_waited_out_instead_of_ending_the_run(server, cli, repo):
    srv = server([
        Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": "*.py"}}]),
        # Every try of the SDK and of the failover chain fails, so the loop gives up once.
        Turn(status=503, error_message="upstream unavailable", fail_times=9,
             tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "made it"}}]),
    ])
    result, proc = cli(srv, AGENTCLI_OUTAGE_WAIT_SCALE="0.01").json(
        "run", "x", "-C", str(repo), "--model", "anthropic/m", "--max-time", "10m", timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "done" and result["result"] == "made it"
    assert "the model provider is failing; waiting" in proc.stderr
    assert any("The model provider failed" in t for t in user_texts(srv.requests[-1]))


def test_an_error_that_waiting_cannot_fix_ends_the_run(server, cli, repo):
    srv = server([Turn(status=401, error_message="invalid x-api-key")])
    result, proc = cli(srv, AGENTCLI_OUTAGE_WAIT_SCALE="0.01").json(
        "run", "x", "-C", str(repo), "--model", "anthropic/m", "--unattended")
    assert result["stop_reason"] == "error" and "401" in result["result"]
    assert len(srv.requests) == 1 and "provider is failing" not in proc.stderr
    assert (session_dir(result, repo) / "REPORT.md").exists()
