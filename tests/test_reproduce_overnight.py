"""Phase 3 of `agentcli reproduce` under the overnight machinery: budgets that cover the whole
reproduction, a budget stop that still leaves REPORT.md with what is missing, stall detection,
and SIGKILL in the middle of phase 3 followed by `--resume`, which continues the same run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reproduce_helpers import Reproducer, first_user_text, write_pdf
from tests.test_unattended_e2e import git

pytestmark = pytest.mark.slow

SMALL = {"input_tokens": 100, "output_tokens": 10}
BIG = {"input_tokens": 50_000, "output_tokens": 10}
RESUMED = "[agentcli: unattended run resumed]"


def _state(workdir: Path) -> dict:
    return json.loads((workdir / ".reproduce" / "state.json").read_text())


def _events(workdir: Path, session_id: str) -> list[dict]:
    path = workdir / ".agentcli" / "sessions" / session_id / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _build_requests(srv) -> list:
    return [r for r in srv.requests if "phase 3 of 3" in first_user_text(r)]


def test_a_budget_stop_in_phase_3_leaves_a_report_of_what_is_missing_then_resumes(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    workdir = tmp_path / "w"
    # Phases 1 and 2 take 10 turns of 110 tokens; each phase-3 turn reports 50,010.
    srv = server(Reproducer(usage={"claims": SMALL, "plan": SMALL, "build": BIG}))
    result, proc = cli(srv).json("reproduce", str(paper), "-w", str(workdir), "--model", "anthropic/m",
                                 "--max-tokens", "120k", cwd=tmp_path)
    assert proc.returncode == 1
    assert result["stop_reason"] == "budget" and result["is_error"] is True
    stop_line = proc.stderr.strip().splitlines()[-1]
    assert stop_line.startswith("agentcli: stopped (budget): phase 3 (build and run) stopped: the token "
                                "budget is spent")
    assert stop_line.endswith(f"to go on: agentcli reproduce --resume {result['id']} with a larger "
                              "--max-time, --max-cost or --max-tokens")
    # Phase 3 had what phases 1 and 2 left of the 120k: 118,900 tokens, so three turns.
    assert len(_build_requests(srv)) == 3
    assert result["unattended"]["limits"]["tokens"] == 120_000 - 1_100
    assert result["used"]["tokens"] == 1_100 + 3 * 50_010 and result["limits"]["tokens"] == 120_000

    # The reproduction's REPORT.md: the measured table, and what is missing, and how to go on.
    report = (workdir / "REPORT.md").read_text()
    assert "incomplete" in report and "| C1 | Table 1, p. 2 | statistic | 4 | 4 |" in report
    assert "- DEVIATIONS.md: phase 3 has not written it" in report
    assert (f"The reproduction stopped in phase 3 (`budget`): phase 3 (build and run) stopped: the "
            f"token budget is spent") in report and f"`agentcli reproduce --resume {result['id']}`" in report
    assert result["report"]["complete"] is False
    # The run's own report says the same from the harness's side.
    run_report = Path(result["unattended"]["report_file"]).read_text()
    assert "**Stopped: budget spent**" in run_report
    assert f"`agentcli reproduce --resume {result['id']}`" in run_report

    # Resuming without more budget stops at once, without a model call; `agentcli run --resume`
    # of phase 3's session points to the command that owns it.
    calls = len(srv.requests)
    build_session = _state(workdir)["phases"]["build"]["sessions"][0]
    proc = cli(srv)("run", "--resume", build_session, "-C", str(workdir))
    assert proc.returncode == 1 and proc.stderr.strip().endswith(
        f"go on with: agentcli reproduce --resume {result['id']}")
    again, proc = cli(srv).json("reproduce", "--resume", result["id"], cwd=tmp_path)
    assert again["stop_reason"] == "budget" and len(srv.requests) == calls
    assert "phase 3 (build and run) cannot start: the token budget is spent" in again["message"]

    # With more, the same run goes on to done: same session, one ledger, the budget raised.
    done, proc = cli(srv).json("reproduce", "--resume", result["id"], "--max-tokens", "500k", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert done["stop_reason"] == "done" and done["report"]["complete"] is True
    assert done["limits"]["tokens"] == 500_000 and done["unattended"]["limits"]["tokens"] == 500_000 - 1_100
    state = _state(workdir)
    assert len(state["phases"]["build"]["sessions"]) == 1
    assert state["options"]["limits"]["tokens"] == 500_000
    kinds = [e["type"] for e in _events(workdir, state["phases"]["build"]["sessions"][0])]
    assert kinds.count("unattended_start") == 1 and kinds.count("unattended_resume") == 1
    assert srv.requests[calls].assistant_turns == 3 and srv.requests[calls].last_user_text().startswith(RESUMED)
    assert "The reproduction stopped" not in (workdir / "REPORT.md").read_text()


def test_a_stalled_phase_3_is_nudged_then_stopped_with_a_report(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    workdir = tmp_path / "w"
    srv = server(Reproducer(stuck_build=True))
    result, proc = cli(srv).json("reproduce", str(paper), "-w", str(workdir), "--model", "openai/m",
                                 cwd=tmp_path)
    assert proc.returncode == 1 and result["stop_reason"] == "stalled", proc.stderr
    texts = [t for r in _build_requests(srv) for t in [r.last_user_text()]]
    assert any("You seem to be stuck" in t for t in texts)  # nudged once before the stop
    assert result["unattended"]["nudges"] == 1
    report = (workdir / "REPORT.md").read_text()
    assert "The reproduction stopped in phase 3 (`stalled`)" in report
    assert "results.json: phase 3 (build and run) has not written it" in report


def test_sigkill_in_phase_3_then_resume_continues_the_same_run_and_history(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    workdir = tmp_path / "w"
    srv = server(Reproducer(slow_build=True))
    env = {**os.environ, **cli(srv).env}
    proc = subprocess.Popen([sys.executable, "-m", "agentcli", "reproduce", str(paper), "-w", str(workdir),
                             "--model", "anthropic/m", "--checkpoint", "git", "--max-time", "10m"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    while not any(r.assistant_turns == 1 for r in _build_requests(srv)) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # inside `sleep 60` now
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    state = _state(workdir)
    assert state["phases"]["build"]["status"] == "running"
    session_id = state["phases"]["build"]["sessions"][0]
    killed_at = len(srv.requests)

    result, second = cli(srv).json("reproduce", "--resume", state["id"], cwd=tmp_path, timeout=120)
    assert second.returncode == 0, second.stderr
    assert result["stop_reason"] == "done" and result["report"]["complete"] is True
    # The same conversation went on: the killed command was recorded as interrupted, not run
    # again, and the model was told the run had been resumed.
    after = srv.requests[killed_at:]
    assert all("phase 3 of 3" in first_user_text(r) for r in after)
    assert after[0].assistant_turns == 2
    assert any("interrupted" in t for t in after[0].tool_results())
    assert after[0].last_user_text().startswith(RESUMED)
    assert len(after) == 6  # run, check, early finish, DEVIATIONS.md, an answer, finish
    state = _state(workdir)
    assert state["phases"]["build"]["sessions"] == [session_id]
    assert [p["status"] for p in state["phases"].values()] == ["done", "done", "done"]
    assert state["options"]["checkpoint"] == "git" and state["options"]["limits"]["time_s"] == 600

    events = _events(workdir, session_id)
    kinds = [e["type"] for e in events]
    assert kinds.count("unattended_start") == 1 and kinds.count("unattended_resume") == 1
    assert kinds.count("session_resume") == 1
    progress = Path(result["unattended"]["progress_file"]).read_text()
    assert "resumed (the process ended before the run did: killed or crashed)" in progress
    assert "status: **done**" in progress and result["unattended"]["resumes"] == 1

    # One line of commits in the workdir's own repository, with the work of both processes.
    log = git(workdir, "log", "--reverse", "--format=%s").splitlines()
    assert log == ["agentcli: the work before the run started",
                   "agentcli: work in progress when the run was interrupted",
                   "agentcli: done: Reproduced C1 and C2; C3 is off.",
                   "agentcli reproduce: REPORT.md: 3 claims: 2 match, 0 close, 1 mismatch, 0 unverified, "
                   "0 not attempted"]
    assert "compute.py" in git(workdir, "show", "--name-only", "--format=", "HEAD~2")
    assert git(workdir, "status", "--porcelain") == ""
    assert (workdir / ".git").is_dir() and not (tmp_path / ".git").exists()


def test_the_budgets_cover_phases_1_and_2_too(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    workdir = tmp_path / "w"
    srv = server(Reproducer(usage={"claims": SMALL, "plan": SMALL, "build": SMALL}))
    result, proc = cli(srv).json("reproduce", str(paper), "-w", str(workdir), "--model", "openai/m",
                                 "--max-tokens", "500", cwd=tmp_path)
    assert proc.returncode == 1 and result["stop_reason"] == "budget"
    assert result["message"].startswith("phase 1 (claims) stopped: the token budget is spent: 550 of 500")
    assert len(srv.requests) == 5 and _state(workdir)["phases"]["claims"]["status"] == "failed"
    assert "The reproduction stopped in phase 1 (`budget`)" in (workdir / "REPORT.md").read_text()

    # claims.json was already valid: with more budget phase 1 is recorded done without a model
    # call, and the rest runs within what is left.
    done, proc = cli(srv).json("reproduce", "--resume", str(workdir), "--max-tokens", "100k", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not any("phase 1 of 3" in first_user_text(r) for r in srv.requests[5:])
    assert done["unattended"]["limits"]["tokens"] == 100_000 - 550 - 4 * 110
    assert done["used"]["tokens"] == 550 + 4 * 110 + 8 * 110


@pytest.mark.parametrize("flags, message", [
    (["--checkpoint", "svn"], "--checkpoint must be 'git', not 'svn'"),
    (["--max-time", "soon"], "cannot read duration 'soon'"),
    (["--max-cost", "-3"], "cost '-3' must be more than zero"),
])
def test_bad_budget_flags_are_one_line_and_start_nothing(flags, message, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    proc = cli()("reproduce", str(paper), "-w", str(tmp_path / "w"), *flags, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()
