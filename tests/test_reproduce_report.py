"""`agentcli reproduce report`: graded verdicts judged with phase 1's tolerances, backed by
agentcli's own re-run of each command (real subprocesses, no mocks), deterministic, and a
half-finished workdir reported instead of failing."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest

from agentcli.reproduce import verify
from agentcli.reproduce.report import allowed_difference, build
from reproduce_helpers import GOOD_CLAIMS, PLAN

PAPER = "## Page 2\n\nTable 1: mean 4.0, median 3.\nThe standard deviation of the five numbers is 3.54.\n"
# The commands say `python`, as an agent's do; the test's own interpreter is the one found.
PATH = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(autouse=True)
def _python_on_path(monkeypatch):
    monkeypatch.setenv("PATH", PATH)


def entry(value, **kw):
    return {"value": value, "run_id": "run-1", "seed": 0, "command": "python compute.py", **kw}


def make(tmp: Path, results: dict | None, *, claims: dict | None = None, plan: bool = True,
         deviations: str | None = "# Deviations\n\n## Data\n\n- None of note.\n",
         printed: dict | None = None, rerun: bool = True) -> Path:
    """A workdir whose compute.py prints `printed` (by default each value results.json
    reports), re-run by agentcli unless `rerun` is false."""
    (tmp / "PAPER.md").write_text(PAPER)
    (tmp / "claims.json").write_text(json.dumps(claims or GOOD_CLAIMS))
    if plan:
        (tmp / "PLAN.md").write_text(PLAN)
    if results is not None:
        (tmp / "results.json").write_text(json.dumps(results))
        shown = printed if printed is not None else {k: v["value"] for k, v in results.items()
                                                     if isinstance(v, dict)}
        (tmp / "compute.py").write_text(f"for name, value in {shown!r}.items():\n"
                                        "    print(name, value)\n")
        if rerun:
            verify.verify(tmp, timeout=60)
    if deviations is not None:
        (tmp / "DEVIATIONS.md").write_text(deviations)
    return tmp


def rows(report_text: str) -> dict[str, list[str]]:
    """The cells of the paper-vs-reproduced table, by claim id."""
    table = report_text.split("## Paper vs reproduced", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| C") and not line.startswith("| Claim"):
            out[cells[0]] = cells
    return out


def test_verified_values_get_graded_verdicts(tmp_path):
    make(tmp_path, {"C1": entry(4.02), "C2": entry(3), "C3": entry(3.5355)})
    report = build(tmp_path)
    assert report.complete
    assert report.summary() == "3 claims: 3 match, 0 close, 0 mismatch, 0 unverified, 0 not attempted"
    text = (tmp_path / "REPORT.md").read_text()
    table = rows(text)
    assert table["C1"][3:] == ["4", "4.02", "+0.02 (+0.5%)", "±0.05", "match"]
    assert table["C2"][6:] == ["exact", "match"]
    assert table["C3"][4:] == ["3.5355", "-0.0045 (-0.13%)", "±0.005", "match"]
    assert "incomplete" not in text and "What is missing" not in text
    assert "![Paper vs reproduced](paper_vs_reproduced.png)" in text
    assert (tmp_path / "paper_vs_reproduced.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_close_is_within_three_tolerances_and_mismatch_beyond(tmp_path):
    make(tmp_path, {"C1": entry(4.12), "C2": entry(4), "C3": entry(3.1623, seed=[1, 2, 3])})
    report = build(tmp_path)
    assert report.summary() == "3 claims: 0 match, 1 close, 2 mismatch, 0 unverified, 0 not attempted"
    assert report.complete  # finished; the numbers just do not all agree
    table = rows((tmp_path / "REPORT.md").read_text())
    assert table["C1"][-1] == "close"  # 0.12 off, tolerance 0.05: within 0.15
    assert table["C2"][-1] == "**mismatch**"  # an exact claim is matched or missed, never close
    assert table["C3"][-1] == "**mismatch**" and table["C3"][5] == "-0.3777 (-11%)"


def test_each_claim_shows_its_command_exit_code_wall_time_and_log(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.1623, seed=[1, 2, 3])})
    build(tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    checked = text.split("## How each value was checked", 1)[1].split("\n## ", 1)[0]
    line = next(ln for ln in checked.splitlines() if ln.startswith("| C3 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:4] == ["C3", "[1, 2, 3]", "`python compute.py`", "0"]
    assert cells[4].endswith(" s") and cells[5] == "`runs/agentcli/run-1.log`"
    assert cells[6] == "verified: printed in runs/agentcli/run-1.log"
    assert (tmp_path / "runs" / "agentcli" / "run-1.log").read_text().splitlines()[2] == "C3 3.1623"


def test_a_value_the_rerun_did_not_print_is_unverified_never_a_match(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.54)},
         printed={"C1": 4.0, "C2": 3, "C3": 3.1623})  # results.json claims the paper's 3.54
    report = build(tmp_path)
    assert report.summary() == "3 claims: 2 match, 0 close, 0 mismatch, 1 unverified, 0 not attempted"
    row = report.to_dict()["rows"][2]
    assert row["verdict"] == "unverified" and row["verified"] is False and row["exit_code"] == 0
    assert row["why"] == "3.54 is not printed in the re-run's output (runs/agentcli/run-1.log)"
    assert rows((tmp_path / "REPORT.md").read_text())["C3"][-1] == "**unverified**"


def test_without_a_rerun_of_agentcli_nothing_is_certified(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.54)}, rerun=False)
    report = build(tmp_path)
    assert report.count("unverified") == 3 and report.count("match") == 0
    assert report.rows[0].proof.why == ("agentcli has not re-run `python compute.py` "
                                        "(agentcli reproduce report --verify)")
    assert "_No environment.json: agentcli has not re-run the commands here" in \
        (tmp_path / "REPORT.md").read_text()
    again = build(tmp_path, rerun=True, timeout=60)
    assert again.count("match") == 3


def test_a_log_changed_after_the_rerun_no_longer_backs_its_value(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.54)})
    (tmp_path / "runs" / "agentcli" / "run-1.log").write_text("C1 4.0\nC2 3\nC3 3.54, edited by hand\n")
    report = build(tmp_path)
    assert report.count("unverified") == 3
    assert report.rows[0].proof.why == "runs/agentcli/run-1.log changed (or went) since agentcli's re-run"


def test_some_not_attempted(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C3": entry(None, notes="needs the authors' data")})
    report = build(tmp_path)
    assert report.summary() == "3 claims: 1 match, 0 close, 0 mismatch, 0 unverified, 2 not attempted"
    assert not report.complete
    text = (tmp_path / "REPORT.md").read_text()
    table = rows(text)
    assert table["C2"][4:] == ["—", "—", "exact", "not attempted"]
    assert table["C3"][-1] == "not attempted"
    assert "needs the authors' data" in text
    assert "- results.json: no valid result for C2" in text


def test_relative_and_absolute_tolerances_take_the_larger():
    claim = {"value": 200.0, "tolerance": {"absolute": 1.0, "relative": 0.01}}
    assert allowed_difference(claim) == 2.0
    assert allowed_difference({"value": 50.0, "tolerance": {"absolute": 1.0, "relative": 0.01}}) == 1.0


def test_the_same_files_give_the_same_report_bytes(tmp_path):
    make(tmp_path, {"C1": entry(4.02), "C2": entry(3), "C3": entry(3.3, seed=[1, 2], values=[3.2, 3.4])})
    build(tmp_path)
    first = [(tmp_path / n).read_bytes() for n in ("REPORT.md", "paper_vs_reproduced.png")]
    build(tmp_path)
    assert [(tmp_path / n).read_bytes() for n in ("REPORT.md", "paper_vs_reproduced.png")] == first
    assert str(tmp_path) not in first[0].decode()


def test_deviations_are_included_under_their_own_heading(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.54)})
    build(tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    section = text.split("## Deviations from the paper", 1)[1]
    assert "#### Data" in section and "- None of note." in section
    assert "# Deviations\n" not in section


# -- half-finished workdirs -------------------------------------------------------------------

def test_an_empty_folder_reports_everything_missing(tmp_path):
    report = build(tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    assert not report.complete and report.rows == []
    for item in ("PAPER.md: the paper has not been extracted", "claims.json: phase 1 (claims)",
                 "PLAN.md: phase 2 (plan)", "DEVIATIONS.md: phase 3"):
        assert item in text
    assert "## Paper vs reproduced" not in text and not (tmp_path / "paper_vs_reproduced.png").exists()


def test_claims_but_no_results_yet(tmp_path):
    make(tmp_path, None, plan=False, deviations=None)
    report = build(tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    assert report.summary() == "3 claims: 0 match, 0 close, 0 mismatch, 0 unverified, 3 not attempted"
    assert all(r[-1] == "not attempted" for r in rows(text).values())
    assert "- results.json: phase 3 (build and run) has not written it" in text
    assert "_DEVIATIONS.md is missing._" in text


def test_invalid_files_are_reported_and_the_valid_parts_still_compared(tmp_path):
    claims = copy.deepcopy(GOOD_CLAIMS)
    claims["claims"][1]["value"] = "three"
    make(tmp_path, {"C1": entry(4.0), "C3": entry("3.5")}, claims=claims)
    report = build(tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    assert [r.id for r in report.rows] == ["C1", "C3"]
    assert 'claims.json: claims[1].value: must be a number, got string "three"' in text
    assert 'results.json: C3.value: must be a number or null, got string "3.5"' in text
    assert rows(text)["C1"][-1] == "match" and rows(text)["C3"][-1] == "not attempted"


def test_unparseable_results_do_not_stop_the_report(tmp_path):
    make(tmp_path, None)
    (tmp_path / "results.json").write_text("{oops")
    report = build(tmp_path)
    assert report.count("not attempted") == 3
    assert "results.json: results.json is not valid JSON: line 1, column 2" in \
        (tmp_path / "REPORT.md").read_text()


def _lock(tmp_path: Path, claims: dict) -> None:
    (tmp_path / ".reproduce").mkdir(exist_ok=True)
    (tmp_path / ".reproduce" / "claims.phase1.json").write_text(json.dumps(claims))


def test_widening_a_tolerance_after_phase_1_does_not_change_the_verdict(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.16)})
    _lock(tmp_path, GOOD_CLAIMS)
    before = build(tmp_path)
    edited = copy.deepcopy(GOOD_CLAIMS)
    edited["claims"][2]["tolerance"] = {"absolute": 0.5}  # 3.16 would be a match under it
    (tmp_path / "claims.json").write_text(json.dumps(edited))
    after = build(tmp_path)
    assert [r.verdict for r in after.rows] == [r.verdict for r in before.rows]
    assert [r.verdict for r in after.rows] == ["match", "match", "mismatch"]
    assert after.rows[2].allowed == 0.005
    assert after.summary() == ("3 claims: 2 match, 0 close, 1 mismatch, 0 unverified, 0 not attempted; "
                               "claims.json edited after phase 1 for C3 (judged as phase 1 fixed them)")
    text = (tmp_path / "REPORT.md").read_text()
    assert rows(text)["C3"][6:] == ["±0.005", "**mismatch**"]
    assert '- C3: tolerance changed after phase 1: {"absolute": 0.005} → {"absolute": 0.5}' in text


def test_claims_removed_or_added_after_phase_1_are_judged_and_flagged(tmp_path):
    later = copy.deepcopy(GOOD_CLAIMS)
    removed = later["claims"].pop(2)
    later["claims"].append(dict(removed, id="C4"))
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.16), "C4": entry(3.54)},
         claims=later)
    _lock(tmp_path, GOOD_CLAIMS)
    report = build(tmp_path)
    assert [r.id for r in report.rows] == ["C1", "C2", "C3", "C4"]
    assert report.rows[2].verdict == "mismatch"  # C3 left claims.json; phase 1 fixed it
    assert report.changed == {"C3": ["removed from claims.json after phase 1"],
                              "C4": ["added after phase 1"]}


def test_without_a_phase_1_copy_the_report_says_tolerances_may_postdate_the_results(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.54)})
    report = build(tmp_path)
    assert report.phase1_copy is False and report.to_dict()["phase1_copy"] is False
    assert "nothing shows whether they were chosen before the results" in (tmp_path / "REPORT.md").read_text()
    _lock(tmp_path, GOOD_CLAIMS)
    build(tmp_path)
    assert "Tolerances are the ones phase 1 fixed" in (tmp_path / "REPORT.md").read_text()


def test_without_matplotlib_the_report_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "agentcli.reproduce.figure", None)
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.54)})
    build(tmp_path)
    assert "figure not drawn: matplotlib is not installed" in (tmp_path / "REPORT.md").read_text()


# -- through the CLI ----------------------------------------------------------------------------

def test_report_command_on_a_half_finished_workdir_exits_0_and_lists_what_is_missing(cli, tmp_path):
    make(tmp_path, {"C1": entry(4.0)}, deviations=None)
    proc = cli()("reproduce", "report", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"{tmp_path / 'REPORT.md'}: 3 claims: 1 match, 0 close, "
                                   "0 mismatch, 0 unverified, 2 not attempted")
    assert "missing: results.json: no valid result for C2, C3" in proc.stderr


def test_report_command_json_counts_each_verdict_and_shows_edits_after_phase_1(cli, tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.16)})
    _lock(tmp_path, GOOD_CLAIMS)
    edited = copy.deepcopy(GOOD_CLAIMS)
    edited["claims"][2]["tolerance"] = {"absolute": 0.5}
    (tmp_path / "claims.json").write_text(json.dumps(edited))
    proc = cli()("reproduce", "report", "--output-format", "json", "--no-figure", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["counts"] == {"match": 2, "close": 0, "mismatch": 1, "unverified": 0, "not_attempted": 0}
    assert data["changed_after_phase1"] == {"C3": ['tolerance changed after phase 1: {"absolute": 0.005} '
                                                   '→ {"absolute": 0.5}']}
    assert "edited after phase 1 for C3" in data["summary"] and data["complete"] is True
    row = data["rows"][2]
    assert (row["verdict"], row["allowed"], row["command"], row["exit_code"], row["log"]) == \
        ("mismatch", 0.005, "python compute.py", 0, "runs/agentcli/run-1.log")
    assert data["figure"] is None and not (tmp_path / "paper_vs_reproduced.png").exists()


def test_report_command_verify_reruns_the_commands(cli, tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.16)}, rerun=False)
    plain, _ = cli().json("reproduce", "report", "--no-figure", str(tmp_path), env={"PATH": PATH})
    assert plain["counts"]["unverified"] == 3
    text = cli()("reproduce", "report", "--no-figure", str(tmp_path), env={"PATH": PATH})
    assert "  unverified: C1: agentcli has not re-run `python compute.py`" in text.stderr
    data, proc = cli().json("reproduce", "report", "--verify", "--verify-timeout", "1m", "--no-figure",
                            str(tmp_path), env={"PATH": PATH})
    assert proc.returncode == 0, proc.stderr
    assert data["counts"] == {"match": 2, "close": 0, "mismatch": 1, "unverified": 0, "not_attempted": 0}
    assert json.loads((tmp_path / "environment.json").read_text())["timeout_s"] == 60


def test_report_command_bad_verify_timeout_is_one_line(cli, tmp_path):
    make(tmp_path, {"C1": entry(4.0)}, rerun=False)
    proc = cli()("reproduce", "report", "--verify", "--verify-timeout", "soon", str(tmp_path))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("agentcli: error: --verify-timeout: cannot read duration 'soon'")
    assert not (tmp_path / "environment.json").exists() and not (tmp_path / "REPORT.md").exists()


def test_report_command_on_a_missing_folder_is_one_line(cli, tmp_path):
    proc = cli()("reproduce", "report", str(tmp_path / "nope"))
    assert proc.returncode == 2 and proc.stderr.strip() == f"agentcli: error: no such folder: {tmp_path / 'nope'}"


def test_report_command_leaves_a_folder_that_is_no_reproduction_and_a_foreign_report_alone(cli, tmp_path):
    """`reproduce report` run in a project root must not replace the project's own REPORT.md."""
    mine = "# Quarterly report\n\nHand written.\n"
    (tmp_path / "REPORT.md").write_text(mine)
    proc = cli()("reproduce", "report", cwd=tmp_path)
    assert proc.returncode == 2 and "is not a reproduction" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    make(tmp_path, {"C1": entry(4.0)})
    proc = cli()("reproduce", "report", str(tmp_path))
    assert proc.returncode == 2 and "was not written by agentcli" in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "REPORT.md").read_text() == mine
    proc = cli()("reproduce", "report", "--force", "--no-figure", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Paper vs reproduced" in (tmp_path / "REPORT.md").read_text()
    again = cli()("reproduce", "report", "--no-figure", str(tmp_path))  # its own report: rewritten
    assert again.returncode == 0, again.stderr
