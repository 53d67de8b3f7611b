"""The worked example in examples/wine-classifiers: its files pass the phase checks, its
machine-written files are what agentcli writes from the hand-written ones, its code, re-run by
agentcli, measures the numbers committed in results.json and the log, and the same workdir with
the paper's numbers pasted into results.json gets nothing certified."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from agentcli.reproduce import verify
from agentcli.reproduce.paper import extract
from agentcli.reproduce.phases import PHASES
from agentcli.reproduce.report import build
from agentcli.reproduce.verdicts import closeness
from conftest import REPO

EXAMPLE = REPO / "examples" / "wine-classifiers"
SCRIPT = "wine_classifiers.py"
LOG = "runs/loo-1.log"
SUMMARY = "4 claims: 2 match, 0 close, 2 mismatch, 0 unverified, 0 not attempted"
PAPER_VALUES = {"loo.RDA": 100, "loo.QDA": 99.4, "loo.LDA": 98.9, "loo.1NN": 96.1}


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
    assert report.complete and report.summary() == SUMMARY
    assert (work / "REPORT.md").read_bytes() == (EXAMPLE / "REPORT.md").read_bytes()
    # The figure is redrawn (its exact bytes depend on the matplotlib version, so only its kind is checked).
    assert (work / "paper_vs_reproduced.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paper_md_is_what_agentcli_extracts_from_the_excerpt(tmp_path):
    extract(EXAMPLE / "paper_excerpt.md", tmp_path)
    assert (tmp_path / "PAPER.md").read_bytes() == (EXAMPLE / "PAPER.md").read_bytes()


def test_the_readme_table_of_verdicts_under_both_tolerances_is_what_the_rules_give():
    results = json.loads((EXAMPLE / "results.json").read_text())
    claims = json.loads((EXAMPLE / "claims.json").read_text())["claims"]
    assert {c["tolerance"]["absolute"] for c in claims} == {0.05}
    judged = {c["id"]: closeness(results[c["id"]]["value"] - c["value"], 0.05) for c in claims}
    earlier = {c["id"]: closeness(results[c["id"]]["value"] - c["value"], 0.62) for c in claims}
    assert judged == {"loo.RDA": "mismatch", "loo.QDA": "match", "loo.LDA": "match", "loo.1NN": "mismatch"}
    assert set(earlier.values()) == {"match"}
    readme = (EXAMPLE / "README.md").read_text()
    for cid in judged:
        line = next(ln for ln in readme.splitlines() if ln.startswith(f"| {cid} |"))
        assert line.endswith(f"| {judged[cid]} | {earlier[cid]} |"), line
    assert SUMMARY in readme


def test_the_committed_environment_is_agentclis_record_of_a_real_rerun():
    record = verify.load(EXAMPLE)
    run = record["runs"][0]
    assert run["command"] == json.loads((EXAMPLE / "results.json").read_text())["loo.RDA"]["command"]
    assert run["exit_code"] == 0 and run["wall_s"] > 1
    assert set(run["outputs"]) == {"runs/agentcli/run-1.log", LOG}
    assert record["python"]["imported"] == ["numpy", "scikit-learn"]


def _forged(tmp_path):
    """The external check: the example's workdir with results.json replaced by the paper's own
    values, a command that does not exist, and no logs."""
    work = tmp_path / "wine"
    shutil.copytree(EXAMPLE, work)
    shutil.rmtree(work / "runs")
    (work / "REPORT.md").unlink()
    forged = {cid: {"value": v, "run_id": "loo-1", "seed": None, "command": "python does_not_exist.py"}
              for cid, v in PAPER_VALUES.items()}
    (work / "results.json").write_text(json.dumps(forged, indent=2))
    return work


@pytest.mark.parametrize("rerun", [False, True])
def test_the_paper_values_pasted_into_results_json_are_certified_by_nothing(cli, tmp_path, rerun):
    work = _forged(tmp_path)
    args = ["reproduce", "report", "--no-figure", str(work)] + (["--verify"] if rerun else [])
    data, proc = cli().json(*args)
    assert proc.returncode == 0, proc.stderr
    assert data["counts"] == {"match": 0, "close": 0, "mismatch": 0, "unverified": 4, "not_attempted": 0}
    assert all(not r["verified"] for r in data["rows"])
    text = (work / "REPORT.md").read_text()
    assert "**4 claims: 0 match, 0 close, 0 mismatch, 4 unverified, 0 not attempted.**" in text
    if rerun:
        assert data["rows"][0]["exit_code"] not in (0, None)
        assert "does_not_exist.py" in (work / "runs" / "agentcli" / "run-1.log").read_text()
    else:
        assert data["rows"][0]["why"] == ("agentcli has not re-run `python does_not_exist.py` "
                                          "(agentcli reproduce report --verify)")


def test_the_paper_values_under_the_examples_own_command_are_not_believed(tmp_path):
    """Keeping the real command does not help: its re-run wrote results.json itself, and the
    values it wrote are not the paper's."""
    work = tmp_path / "wine"
    shutil.copytree(EXAMPLE, work)
    results = json.loads((work / "results.json").read_text())
    for cid, value in PAPER_VALUES.items():
        results[cid]["value"] = value
    (work / "results.json").write_text(json.dumps(results, indent=2))
    report = build(work, figure=False)
    assert report.count("unverified") == 4 and report.count("match") == 0
    assert report.rows[0].proof.why == ("the re-run wrote 99.43820224719101 for it to results.json, "
                                        "which reports 100")


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
def test_agentclis_rerun_of_the_example_reproduces_its_results_log_and_verdicts(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    work = tmp_path / "wine"
    shutil.copytree(EXAMPLE, work)
    for stale in (LOG, "REPORT.md", "environment.json", "runs/agentcli/run-1.log"):
        (work / stale).unlink()
    # The command says `python`: the interpreter running the tests is the one meant.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    report = build(work, rerun=True, timeout=900)
    run = verify.load(work)["runs"][0]
    assert run["exit_code"] == 0, (work / LOG).read_text()[-2000:]
    assert (work / "results.json").read_bytes() == (EXAMPLE / "results.json").read_bytes()
    assert run["results"] == {cid: e["value"] for cid, e in
                              json.loads((EXAMPLE / "results.json").read_text()).items()}
    log = (work / LOG).read_text()
    assert log == (EXAMPLE / LOG).read_text()
    assert {cid: round(v * 178 / 100) for cid, v in run["results"].items()} == {
        "loo.RDA": 177, "loo.QDA": 177, "loo.LDA": 176, "loo.1NN": 170}
    assert "178/178 correct = 100.000%" in log  # RDA with the held-out wines choosing (λ, γ)
    assert report.summary() == SUMMARY
    assert [r.proof.log for r in report.rows] == [LOG] * 4
