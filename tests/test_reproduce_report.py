"""`agentcli reproduce report`: the side-by-side table from fixtures, deterministic, and a
half-finished workdir reported instead of failing."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from agentcli.reproduce.report import allowed_difference, build
from reproduce_helpers import GOOD_CLAIMS, PLAN

PAPER = "## Page 2\n\nTable 1: mean 4.0, median 3.\nThe standard deviation of the five numbers is 3.54.\n"


def entry(value, **kw):
    return {"value": value, "run_id": "run-1", "seed": 0, "command": "python compute.py", **kw}


def make(tmp: Path, results: dict | None, *, claims: dict | None = None, plan: bool = True,
         deviations: str | None = "# Deviations\n\n## Data\n\n- None of note.\n") -> Path:
    (tmp / "PAPER.md").write_text(PAPER)
    (tmp / "claims.json").write_text(json.dumps(claims or GOOD_CLAIMS))
    if plan:
        (tmp / "PLAN.md").write_text(PLAN)
    if results is not None:
        (tmp / "results.json").write_text(json.dumps(results))
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


def test_all_within_tolerance(tmp_path):
    make(tmp_path, {"C1": entry(4.02), "C2": entry(3), "C3": entry(3.5355)})
    report = build(tmp_path)
    assert report.complete and report.summary() == "3 of 3 claims within tolerance, 0 outside, 0 missing"
    text = (tmp_path / "REPORT.md").read_text()
    table = rows(text)
    assert table["C1"][3:] == ["4", "4.02", "+0.02 (+0.5%)", "±0.05", "yes"]
    assert table["C2"][6:] == ["exact", "yes"]
    assert table["C3"][4:] == ["3.5355", "-0.0045 (-0.13%)", "±0.005", "yes"]
    assert "incomplete" not in text and "What is missing" not in text
    assert "![Paper vs reproduced](paper_vs_reproduced.png)" in text
    assert (tmp_path / "paper_vs_reproduced.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_some_outside_tolerance(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(4), "C3": entry(3.1623, seed=[1, 2, 3])})
    report = build(tmp_path)
    assert report.summary() == "1 of 3 claims within tolerance, 2 outside, 0 missing"
    assert report.complete  # finished; the numbers just do not all agree
    table = rows((tmp_path / "REPORT.md").read_text())
    assert table["C2"][-1] == "**no**" and table["C3"][-1] == "**no**"
    assert table["C3"][5] == "-0.3777 (-11%)"
    assert "| C3 | run-1 | [1, 2, 3] | `python compute.py` |" in (tmp_path / "REPORT.md").read_text()


def test_some_missing_or_not_measured(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C3": entry(None, notes="needs the authors' data")})
    report = build(tmp_path)
    assert report.summary() == "1 of 3 claims within tolerance, 0 outside, 1 not measured, 1 missing"
    assert not report.complete
    text = (tmp_path / "REPORT.md").read_text()
    table = rows(text)
    assert table["C2"][4:] == ["—", "—", "exact", "missing"]
    assert table["C3"][-1] == "not measured"
    assert "needs the authors' data" in text
    assert "- results.json: no valid result for C2" in text


def test_relative_and_absolute_tolerances_take_the_larger():
    claim = {"value": 200.0, "tolerance": {"absolute": 1.0, "relative": 0.01}}
    assert allowed_difference(claim) == 2.0
    assert allowed_difference({"value": 50.0, "tolerance": {"absolute": 1.0, "relative": 0.01}}) == 1.0


def test_the_same_files_give_the_same_report_bytes(tmp_path):
    make(tmp_path, {"C1": entry(4.02), "C2": entry(3), "C3": entry(3.3)})
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
    assert report.summary() == "0 of 3 claims within tolerance, 0 outside, 3 missing"
    assert all(r[-1] == "missing" for r in rows(text).values())
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
    assert rows(text)["C1"][-1] == "yes" and rows(text)["C3"][-1] == "missing"


def test_unparseable_results_do_not_stop_the_report(tmp_path):
    make(tmp_path, None)
    (tmp_path / "results.json").write_text("{oops")
    report = build(tmp_path)
    assert report.count("missing") == 3
    assert "results.json: results.json is not valid JSON: line 1, column 2" in \
        (tmp_path / "REPORT.md").read_text()


def test_claims_edited_after_phase_1_are_flagged(tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.16)})
    (tmp_path / ".reproduce").mkdir()
    (tmp_path / ".reproduce" / "claims.phase1.json").write_text(json.dumps(GOOD_CLAIMS))
    edited = copy.deepcopy(GOOD_CLAIMS)
    edited["claims"][2]["tolerance"] = {"absolute": 0.5}
    (tmp_path / "claims.json").write_text(json.dumps(edited))
    build(tmp_path)
    text = (tmp_path / "REPORT.md").read_text()
    assert '- C3: tolerance changed after phase 1: {"absolute": 0.005} → {"absolute": 0.5}' in text


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
    assert proc.stdout.strip() == (f"{tmp_path / 'REPORT.md'}: 1 of 3 claims within tolerance, "
                                   "0 outside, 2 missing")
    assert "missing: results.json: no valid result for C2, C3" in proc.stderr


def test_report_command_json_and_default_folder(cli, tmp_path):
    make(tmp_path, {"C1": entry(4.0), "C2": entry(3), "C3": entry(3.16)})
    proc = cli()("reproduce", "report", "--output-format", "json", "--no-figure", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["within"] == 2 and data["outside"] == 1 and data["complete"] is True
    assert [r["status"] for r in data["rows"]] == ["within", "within", "outside"]
    assert data["figure"] is None and not (tmp_path / "paper_vs_reproduced.png").exists()


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
