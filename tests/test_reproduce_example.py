"""The worked example in examples/wine-classifiers: its files pass the phase checks, its REPORT.md
is exactly what `agentcli reproduce report` writes from them, and its code, rerun, measures the
numbers committed in results.json and the log."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from agentcli.reproduce.phases import PHASES
from agentcli.reproduce.report import build
from conftest import REPO

EXAMPLE = REPO / "examples" / "wine-classifiers"
SCRIPT = "wine_classifiers.py"
LOG = "runs/loo-1.log"


def _example_module():
    """The example's script as a module (it runs nothing on import)."""
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("wine_classifiers", EXAMPLE / SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_phase_of_the_example_is_complete():
    for phase in PHASES:
        assert phase.problems(EXAMPLE) == [], phase.name


def test_the_committed_report_is_what_the_report_command_writes(tmp_path):
    pytest.importorskip("matplotlib")
    work = tmp_path / "wine"
    shutil.copytree(EXAMPLE, work)
    (work / "REPORT.md").unlink()
    (work / "paper_vs_reproduced.png").unlink()
    report = build(work)
    assert report.complete and report.summary() == "4 of 4 claims within tolerance, 0 outside, 0 missing"
    assert (work / "REPORT.md").read_bytes() == (EXAMPLE / "REPORT.md").read_bytes()
    # The figure is redrawn (its exact bytes depend on the matplotlib version, so only its kind is checked).
    assert (work / "paper_vs_reproduced.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_committed_results_are_leave_one_out_counts_of_178():
    results = json.loads((EXAMPLE / "results.json").read_text())
    for cid, entry in results.items():
        correct = entry["value"] * 178 / 100
        assert correct == pytest.approx(round(correct), abs=1e-9), cid


def test_ties_in_the_rda_grid_go_to_the_most_regularised_point():
    wine = _example_module()
    errors = np.full((len(wine.GRID), len(wine.GRID)), 5)
    errors[2, 0] = errors[7, 0] = errors[3, 4] = 1
    assert wine.select(errors) == (pytest.approx(0.3), pytest.approx(0.4))
    assert wine.select(errors, prefer="least") == (pytest.approx(0.2), pytest.approx(0.0))


@pytest.mark.slow
def test_the_fast_rda_leave_one_out_equals_refitting():
    from sklearn.datasets import load_wine

    wine = _example_module()
    X, y = load_wine(return_X_y=True)
    fast = wine.rda_loo_errors(X, y, 3)
    for a, b in [(0, 0), (1, 0), (10, 0), (5, 5), (3, 9), (0, 10)]:
        lam, gam = wine.GRID[a], wine.GRID[b]
        refit = wine.loo_predictions(lambda Xt, yt, Xq: wine.rda_predict(Xt, yt, Xq, lam, gam, 3), X, y)
        assert fast[a, b] == int((refit != y).sum()), (lam, gam)


@pytest.mark.slow
def test_the_example_code_reproduces_its_results_log_and_report(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    work = tmp_path / "wine"
    shutil.copytree(EXAMPLE, work)
    for stale in ("results.json", LOG, "REPORT.md"):
        (work / stale).unlink()
    proc = subprocess.run([sys.executable, SCRIPT], cwd=work, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    (work / LOG).write_text(proc.stdout)

    measured = json.loads((work / "results.json").read_text())
    assert measured == json.loads((EXAMPLE / "results.json").read_text())
    assert proc.stdout == (EXAMPLE / LOG).read_text()
    # What the log says was measured, as counts of the 178 wines.
    assert {cid: round(r["value"] * 178 / 100) for cid, r in measured.items()} == {
        "loo.RDA": 177, "loo.QDA": 177, "loo.LDA": 176, "loo.1NN": 170}
    assert "178/178 correct = 100.000%" in proc.stdout  # RDA with the held-out wines choosing (λ, γ)

    report = build(work)
    assert report.summary() == "4 of 4 claims within tolerance, 0 outside, 0 missing"
    assert (work / "REPORT.md").read_bytes() == (EXAMPLE / "REPORT.md").read_bytes()
