"""The worked example in examples/lars-diabetes: its files pass the phase checks, and its
REPORT.md is exactly what `agentcli reproduce report` writes from them."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from agentcli.reproduce.phases import PHASES
from agentcli.reproduce.report import build
from conftest import REPO

EXAMPLE = REPO / "examples" / "lars-diabetes"


def test_every_phase_of_the_example_is_complete():
    for phase in PHASES:
        assert phase.problems(EXAMPLE) == [], phase.name


def test_the_committed_report_is_what_the_report_command_writes(tmp_path):
    work = tmp_path / "lars"
    shutil.copytree(EXAMPLE, work)
    report = build(work, figure=False)
    assert report.complete and report.summary() == "3 of 3 claims within tolerance, 0 outside, 0 missing"
    committed = (EXAMPLE / "REPORT.md").read_text()
    # Built without the figure here (its bytes depend on the matplotlib version); the rest is identical.
    assert (work / "REPORT.md").read_text() == committed.replace(
        "![Paper vs reproduced](paper_vs_reproduced.png)\n\n", "")


@pytest.mark.slow
def test_the_example_code_reproduces_its_results(tmp_path):
    pytest.importorskip("sklearn")
    work = tmp_path / "lars"
    shutil.copytree(EXAMPLE, work)
    (work / "results.json").unlink()
    proc = subprocess.run([sys.executable, "lars_diabetes.py"], cwd=work, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "n = 442 patients, m = 10 baseline variables" in proc.stdout
    report = build(work, figure=False)
    assert report.count("within") == 3
