"""`agentcli reproduce` end to end: the real CLI, a generated PDF, a scripted model that writes
the artefacts through tool calls, all three phases, and the report at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reproduce_helpers import Reproducer, first_user_text, write_pdf
from tests.test_unattended_e2e import CONTINUE, user_texts

pytestmark = pytest.mark.slow


def _state(workdir: Path) -> dict:
    return json.loads((workdir / ".reproduce" / "state.json").read_text())


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_paper_to_report_through_all_three_phases(provider, server, cli, tmp_path):
    paper = write_pdf(tmp_path / "tiny-stats.pdf")
    workdir = tmp_path / "work"
    srv = server(Reproducer())
    proc = cli(srv)("reproduce", str(paper), "--workdir", str(workdir), "--model", f"{provider}/m",
                    "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["stop_reason"] == "done" and result["is_error"] is False
    assert result["report"]["counts"] == {"match": 2, "close": 0, "mismatch": 1, "unverified": 0,
                                          "not_attempted": 0}
    assert result["report"]["complete"] is True

    # PAPER.md kept the PDF's pages; the workdir holds every artefact.
    paper_md = (workdir / "PAPER.md").read_text()
    assert "## Page 1" in paper_md and "## Page 2" in paper_md
    assert "The standard deviation of the five numbers is 3.54." in paper_md
    for name in ("claims.json", "PLAN.md", "compute.py", "results.json", "DEVIATIONS.md",
                 "REPORT.md", "paper_vs_reproduced.png", "runs/stats-1.log"):
        assert (workdir / name).is_file(), name

    # The table: C3 is the population SD (3.16) against the paper's sample SD (3.54).
    report = (workdir / "REPORT.md").read_text()
    assert "| C1 | Table 1, p. 2 | statistic | 4 | 4 | +0 (+0%) | ±0.05 | match |" in report
    assert "| C3 | Table 1, p. 2 | statistic | 3.54 | 3.16228 |" in report and "**mismatch**" in report
    # agentcli re-ran the command before it accepted done, kept its log, and judged with the
    # claims phase 1 fixed.
    assert "verified: printed in runs/agentcli/run-1.log" in report
    assert (workdir / "runs" / "agentcli" / "run-1.log").is_file()
    assert (workdir / "environment.json").is_file()
    assert (workdir / ".reproduce" / "claims.phase1.json").is_file()
    assert "Tolerances are the ones phase 1 fixed" in report
    assert "The SD is the population SD" in report  # DEVIATIONS.md is in the report

    # Three phases, three sessions, each with its own prompt and tools.
    state = _state(workdir)
    assert [p["status"] for p in state["phases"].values()] == ["done", "done", "done"]
    sessions = [p["sessions"] for p in state["phases"].values()]
    assert all(len(s) == 1 for s in sessions) and len({s[0] for s in sessions}) == 3
    by_phase = {n: [r for r in srv.requests if f"phase {n} of 3" in first_user_text(r)] for n in (1, 2, 3)}
    assert "check_claims" in by_phase[1][0].tool_names and "check_results" not in by_phase[1][0].tool_names
    assert "check_results" in by_phase[3][0].tool_names
    assert "check_claims" not in by_phase[2][0].tool_names + by_phase[3][0].tool_names
    assert '"$defs"' in first_user_text(by_phase[1][0])  # the schema is in the phase-1 prompt
    assert "Never add a component the paper does not describe" in first_user_text(by_phase[3][0])

    # Phase 3 ran unattended: two answers without `finish` were continued, not taken as the end,
    # and a done declared before DEVIATIONS.md existed was refused with what was missing.
    assert "finish" in by_phase[3][0].tool_names and "finish" not in by_phase[1][0].tool_names
    assert "Unattended run" in by_phase[3][0].system and "Unattended run" not in by_phase[2][0].system
    assert len(by_phase[3]) == 8
    last = by_phase[3][-1]
    assert sum(t.startswith(CONTINUE) for t in user_texts(last)) == 2
    refused = [t for t in last.tool_results() if t.startswith("finish refused")]
    assert len(refused) == 1 and "DEVIATIONS.md is missing or empty" in refused[0]
    run = result["unattended"]
    progress = Path(run["progress_file"]).read_text()
    assert "status: **done**" in progress
    assert "results.json covers every claim and DEVIATIONS.md is written" in progress
    run_report = Path(run["report_file"]).read_text()
    assert "**Done**" in run_report and "— FAILED (1 problem(s): DEVIATIONS.md" in run_report
    assert "agentcli reproduce --resume" not in run_report  # done: nothing to go on with
    assert result["used"]["turns"] == sum(len(v) for v in by_phase.values())


def test_invalid_claims_get_precise_errors_and_phase_2_problems_go_back(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    srv = server(Reproducer())
    proc = cli(srv)("reproduce", str(paper), "-w", str(tmp_path / "w"), "--model", "anthropic/m",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("3 claims: 2 match, 0 close, 1 mismatch, 0 unverified, 0 not attempted")
    # check_claims told the model exactly what was wrong with its first claims.json.
    results = [t for r in srv.requests for t in r.tool_results()]
    assert any("claims[2].source.quote: not found in PAPER.md" in t for t in results)
    # PLAN.md lacked its Unspecified details section: the driver sent that back, once.
    follow_ups = [r.last_user_text() for r in srv.requests if "phase 2 of 3" in first_user_text(r)]
    assert any("Phase 2 (plan) is not finished" in t and "Unspecified details" in t for t in follow_ups)
    assert _state(tmp_path / "w")["phases"]["plan"]["rounds"] == 1
    assert "phase 2 not finished" in proc.stderr


def test_a_phase_that_never_delivers_stops_with_what_is_missing_then_resumes(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    workdir = tmp_path / "w"
    broken = server(Reproducer(fail_phase="plan"))
    proc = cli(broken)("reproduce", str(paper), "-w", str(workdir), "--model", "openai/m",
                       "--max-rounds", "1", cwd=tmp_path)
    assert proc.returncode == 1
    assert "stopped (unfinished): phase 2 (plan) did not leave valid artefacts" in proc.stderr
    state = _state(workdir)
    assert state["phases"]["claims"]["status"] == "done"
    assert state["phases"]["plan"]["status"] == "failed"
    report = (workdir / "REPORT.md").read_text()
    assert "incomplete" in report and "PLAN.md: phase 2 (plan) has not written it" in report

    # Resume by id from the parent folder: phase 1 is not redone; phase 2 goes on in its own
    # conversation (Session.resume), told why it stopped and what is still missing.
    good = server(Reproducer())
    proc = cli(good)("reproduce", "--resume", state["id"], "--model", "openai/m", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not any("phase 1 of 3" in first_user_text(r) for r in good.requests)
    plan = [r for r in good.requests if "phase 2 of 3" in first_user_text(r)]
    assert plan[0].assistant_turns == 2  # the two "I am done." answers of the first process
    resumed = plan[0].last_user_text()
    assert resumed.startswith("[agentcli reproduce] This session was interrupted (it had stopped: "
                              "unfinished)") and "PLAN.md does not exist" in resumed
    assert "continuing session" in proc.stderr
    state = _state(workdir)
    assert [p["status"] for p in state["phases"].values()] == ["done", "done", "done"]
    assert len(state["phases"]["plan"]["sessions"]) == 1
    assert "3 claims: 2 match, 0 close, 1 mismatch" in (workdir / "REPORT.md").read_text()


def test_hand_written_results_from_a_command_that_does_not_exist_cannot_finish_done(server, cli, tmp_path):
    """The audit's case, through the real CLI: results.json written by hand with the paper's
    numbers, `python does_not_exist.py`, no logs, DEVIATIONS "None.". agentcli's re-run refuses
    done, and the report certifies none of the numbers."""
    paper = write_pdf(tmp_path / "paper.pdf")
    workdir = tmp_path / "w"
    srv = server(Reproducer(forge_build=True))
    result, proc = cli(srv).json("reproduce", str(paper), "-w", str(workdir), "--model", "anthropic/m",
                                 "--verify-timeout", "45s", cwd=tmp_path)
    assert proc.returncode == 1 and result["stop_reason"] == "blocked", proc.stderr
    assert _state(workdir)["options"]["verify_timeout"] == 45
    assert json.loads((workdir / "environment.json").read_text())["timeout_s"] == 45
    build = [r for r in srv.requests if "phase 3 of 3" in first_user_text(r)]
    refused = [t for t in build[-1].tool_results() if t.startswith("finish refused")]
    assert len(refused) == 1
    assert "C1: agentcli re-ran `python does_not_exist.py`: exited with code" in refused[0]
    assert result["report"]["counts"] == {"match": 0, "close": 0, "mismatch": 0, "unverified": 3,
                                          "not_attempted": 0}
    assert "**3 claims: 0 match, 0 close, 0 mismatch, 3 unverified, 0 not attempted.**" in \
        (workdir / "REPORT.md").read_text()


def test_resume_of_an_unknown_reproduction_is_one_line(cli, tmp_path):
    proc = cli()("reproduce", "--resume", "rp-nope", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("agentcli: error: no reproduction 'rp-nope'")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_refuses_a_workdir_that_already_holds_a_reproduction(server, cli, tmp_path):
    paper = write_pdf(tmp_path / "paper.pdf")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "claims.json").write_text("{}")
    proc = cli()("reproduce", str(paper), "-w", str(tmp_path / "w"), cwd=tmp_path)
    assert proc.returncode == 2 and "already has claims.json" in proc.stderr
    assert (tmp_path / "w" / "claims.json").read_text() == "{}"


def test_unreadable_paper_is_one_line_and_leaves_nothing(cli, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    proc = cli()("reproduce", str(bad), "--model", "anthropic/m", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("agentcli: error: broken.pdf")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "reproduce-broken").exists()


def test_no_usable_model_stops_in_one_line_with_the_resume_command(cli, tmp_path):
    paper = tmp_path / "paper.md"
    paper.write_text("## Page 1\n\nAccuracy was 0.91.\n")
    proc = cli()("reproduce", str(paper), "-w", str(tmp_path / "w"), "--model", "anthropic/m",
                 cwd=tmp_path)
    assert proc.returncode == 1
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("agentcli: error: anthropic/m: ANTHROPIC_API_KEY is not set (fix that, "
                            "then: agentcli reproduce --resume rp-")
    assert (tmp_path / "w" / "PAPER.md").is_file()  # nothing done so far is lost
