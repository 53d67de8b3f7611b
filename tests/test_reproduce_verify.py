"""agentcli re-runs before it believes: each command of results.json runs again in a real,
time-boxed subprocess of the workdir, its log is kept under runs/agentcli/, and a value counts
only when that run printed it. Phase 3 may not finish "done" until every value is backed."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from agentcli.reproduce import overnight, verify
from agentcli.reproduce.numbers import found_in_output
from agentcli.reproduce.report import build
from agentcli.reproduce.verdicts import Row, judge
from reproduce_helpers import GOOD_CLAIMS, PLAN

PAPER = "## Page 2\n\nTable 1: mean 4.0, median 3.\nThe standard deviation of the five numbers is 3.54.\n"
PATH = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(autouse=True)
def _python_on_path(monkeypatch):
    monkeypatch.setenv("PATH", PATH)


def workdir(tmp: Path, results: dict, *, script: str | None = None) -> Path:
    (tmp / "PAPER.md").write_text(PAPER)
    (tmp / "claims.json").write_text(json.dumps(GOOD_CLAIMS))
    (tmp / "PLAN.md").write_text(PLAN)
    (tmp / "DEVIATIONS.md").write_text("None.\n")
    (tmp / "results.json").write_text(json.dumps(results, indent=2))
    if script is not None:
        (tmp / "compute.py").write_text(script)
    return tmp


def entry(value, command="python compute.py", **kw):
    return {"value": value, "run_id": "r1", "seed": None, "command": command, **kw}


PAPER_VALUES = {"C1": entry(4.0, "python does_not_exist.py"), "C2": entry(3, "python does_not_exist.py"),
                "C3": entry(3.54, "python does_not_exist.py")}


def test_a_hand_written_results_file_whose_command_does_not_exist_cannot_finish_done(tmp_path):
    """The audit's case: values copied from the paper, a command that does not exist, no logs,
    DEVIATIONS "None.": the files pass the schema, and agentcli's re-run refuses done."""
    work = workdir(tmp_path, PAPER_VALUES)
    files, rerun = overnight.criteria(work, timeout=60)
    assert files.problems() == []
    problems = rerun.problems()
    assert len(problems) == 3
    assert problems[0].startswith("C1: agentcli re-ran `python does_not_exist.py`: exited with code ")
    assert "(agentcli's log of the re-run: runs/agentcli/run-1.log)" in problems[0]
    assert "does_not_exist.py" in (work / "runs" / "agentcli" / "run-1.log").read_text()
    report = build(work)
    assert report.summary() == "3 claims: 0 match, 0 close, 0 mismatch, 3 unverified, 0 not attempted"


def test_the_rerun_waits_for_the_files_to_be_right(tmp_path):
    work = workdir(tmp_path, PAPER_VALUES)
    (work / "DEVIATIONS.md").unlink()
    _, rerun = overnight.criteria(work, timeout=60)
    assert rerun.problems() == ["agentcli re-runs the commands once results.json covers every claim "
                                "and DEVIATIONS.md is written"]
    assert not (work / "environment.json").exists()


def test_a_command_that_prints_every_value_lets_phase_3_finish(tmp_path):
    script = ("import statistics\nd = [1, 2, 3, 4, 10]\n"
              "print(statistics.mean(d), statistics.median(d), statistics.pstdev(d))\n")
    work = workdir(tmp_path, {"C1": entry(4), "C2": entry(3), "C3": entry(3.1622776601683795)}, script=script)
    assert [c.problems() for c in overnight.criteria(work, timeout=60)] == [[], []]


def test_a_failing_command_is_unverified_with_its_exit_code(tmp_path):
    script = "print('C1 4.0')\nraise SystemExit(3)\n"
    work = workdir(tmp_path, {"C1": entry(4.0), "C2": entry(None, notes="no time"),
                              "C3": entry(None, notes="no time")}, script=script)
    record = verify.verify(work, timeout=60)
    assert record["runs"][0]["exit_code"] == 3
    proof = verify.prove(work, json.loads((work / "results.json").read_text())["C1"], "C1", record)
    assert not proof.verified and proof.why == "exited with code 3"
    assert build(work).rows[0].verdict == "unverified"


def test_a_command_is_time_boxed_and_nothing_it_started_outlives_it(tmp_path):
    script = ("import subprocess, time\n"
              "child = subprocess.Popen(['sleep', '60'])\n"
              "open('child.pid', 'w').write(str(child.pid))\n"
              "time.sleep(60)\n")
    work = workdir(tmp_path, {"C1": entry(4.0), "C2": entry(None, notes="-"), "C3": entry(None, notes="-")},
                   script=script)
    started = time.monotonic()
    record = verify.verify(work, timeout=2)
    assert time.monotonic() - started < 20
    run = record["runs"][0]
    assert run["timed_out"] is True and run["exit_code"] is None and 2 <= run["wall_s"] < 20
    child = int((work / "child.pid").read_text())
    time.sleep(0.2)
    assert not _running(child)
    why = verify.prove(work, entry(4.0), "C1", record).why
    assert why == "did not finish within 2 s"


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan may wait for a reaper that never comes here)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_output_files_the_command_writes_under_runs_are_read_too(tmp_path):
    script = "print('C1', 4.0)\n"
    work = workdir(tmp_path, {"C1": entry(4.0, "mkdir -p runs && python compute.py > runs/main.log 2>&1"),
                              "C2": entry(None, notes="-"), "C3": entry(None, notes="-")}, script=script)
    record = verify.verify(work, timeout=60)
    assert set(record["runs"][0]["outputs"]) == {"runs/agentcli/run-1.log", "runs/main.log"}
    proof = verify.prove(work, json.loads((work / "results.json").read_text())["C1"], "C1", record)
    assert proof.verified and proof.log == "runs/main.log"


def test_a_results_file_the_command_rewrites_is_put_back_and_held_to_what_it_wrote(tmp_path):
    """A script that writes results.json: agentcli's re-run keeps the file as it was, and a value
    the re-run itself did not measure (the paper's, pasted in) is not believed."""
    script = ("import json\nprint('RDA 99.438 (178/178 = 100.000% when chosen with the test folds)')\n"
              "json.dump({'C1': {'value': 99.438, 'run_id': 'r1', 'seed': None, "
              "'command': 'python compute.py'}}, open('results.json', 'w'))\n")
    pasted = {"C1": entry(100.0), "C2": entry(None, notes="-"), "C3": entry(None, notes="-")}
    work = workdir(tmp_path, pasted, script=script)
    before = (work / "results.json").read_bytes()
    record = verify.verify(work, timeout=60)
    assert (work / "results.json").read_bytes() == before
    assert record["runs"][0]["results"] == {"C1": 99.438}
    proof = verify.prove(work, pasted["C1"], "C1", record)
    assert not proof.verified and proof.why == ("the re-run wrote 99.438 for it to results.json, which "
                                                "reports 100.0")


def test_environment_json_records_python_packages_machine_seeds_and_wall_time(tmp_path):
    script = "import json\nprint(4.0)\n"
    work = workdir(tmp_path, {"C1": entry(4.0, seed=[1, 2]), "C2": entry(None, notes="-"),
                              "C3": entry(None, notes="-")}, script=script)
    verify.verify(work, timeout=60)
    env = json.loads((work / "environment.json").read_text())
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert "pytest" in env["python"]["packages"]  # asked of the interpreter the command runs with
    assert env["os"] and env["cpu"]["cores"] == os.cpu_count() and isinstance(env["gpus"], list)
    assert env["seeds"] == {"C1": [1, 2]}
    assert env["runs"][0]["command"] == "python compute.py" and env["runs"][0]["wall_s"] >= 0
    build(work, figure=False)
    text = (work / "REPORT.md").read_text()
    section = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    assert f"- Python {env['python']['version']} (CPython)" in section
    assert "- Seeds: C1: [1, 2]" in section and "agentcli's re-runs: 1 command(s)" in section


def test_only_distinct_commands_run_and_in_the_order_results_names_them(tmp_path):
    (tmp_path / "a.py").write_text("print(4.0, 3)\n")
    (tmp_path / "b.py").write_text("print(3.54)\n")
    work = workdir(tmp_path, {"C1": entry(4.0, "python a.py"), "C2": entry(3, "python a.py"),
                              "C3": entry(3.54, "python b.py")})
    record = verify.verify(work, timeout=60)
    assert [(r["command"], r["log"]) for r in record["runs"]] == [
        ("python a.py", "runs/agentcli/run-1.log"), ("python b.py", "runs/agentcli/run-2.log")]
    assert build(work).count("match") == 3


# -- what counts as printed -------------------------------------------------------------------

@pytest.mark.parametrize("value, output, found", [
    (99.43820224719101, "LDA: 177/178 correct = 99.438%", True),   # rounded to what was printed
    (99.4, "LDA: 177/178 correct = 99.438%", False),               # the paper's coarser number
    (0.47, "learning rate 0.5", False),                            # too coarse to stand for it
    (0.5, "learning rate 0.5", True),
    (96.1, "1NN 96% of the time", False),
    (4, "mean 4", True),
    (-0.25, "delta \u22120.25", True),
    (2970.5, "loss 2,970.5 after 10 steps", True),
])
def test_a_value_is_found_only_where_the_output_prints_it_at_least_as_precisely(value, output, found):
    assert (found_in_output(value, output) is not None) is found


# -- verdicts ---------------------------------------------------------------------------------

def test_an_unverified_value_is_never_a_match_however_close():
    claim = GOOD_CLAIMS["claims"][0]
    row: Row = judge(claim, entry(4.0), verify.Proof(False, "agentcli has not re-run it"))
    assert row.verdict == "unverified" and row.difference == 0
    assert judge(claim, entry(4.0), verify.Proof(True, "printed")).verdict == "match"
    assert judge(claim, entry(None, notes="x"), None).verdict == "not attempted"
    assert judge(claim, None, None).verdict == "not attempted"


# -- the figure -------------------------------------------------------------------------------

def test_each_claim_gets_a_strip_in_its_own_units_with_band_seeds_and_verdict_colour(tmp_path):
    pytest.importorskip("matplotlib")
    from agentcli.reproduce.figure import COLOURS, draw, strip

    claim = dict(GOOD_CLAIMS["claims"][2], unit="%")  # 3.54 ± 0.005
    seeds = entry(3.53, seed=[1, 2, 3], values=[3.52, 3.53, 3.54])
    close = strip(judge(claim, seeds, verify.Proof(True, "printed")))
    assert close.band == pytest.approx((3.535, 3.545)) and close.close_band == pytest.approx((3.525, 3.555))
    assert close.seeds == (3.52, 3.53, 3.54) and close.reproduced == 3.53
    assert close.colour == COLOURS["close"] and not close.hollow
    assert close.label == "C3\n(%)" and close.note.startswith("close\npaper 3.54 % ± 0.005")
    assert close.xlim[0] < 3.52 and close.xlim[1] > 3.555
    unverified = strip(judge(claim, seeds, verify.Proof(False, "not printed")))
    assert unverified.hollow and unverified.colour == COLOURS["unverified"]
    missing = strip(judge(claim, None, None))
    assert missing.reproduced is None and missing.note.startswith("not attempted")
    rows = [judge(claim, seeds, verify.Proof(True, "printed")),
            judge(GOOD_CLAIMS["claims"][0], entry(4.0), verify.Proof(True, "printed"))]
    png = draw(rows, tmp_path / "f.png", title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_in_phase_3_the_rerun_runs_in_the_sandbox_the_agents_commands_ran_in(tmp_path):
    """With a sandbox, what the re-run of the agent's command writes outside the workdir does
    not reach the host, as the agent's own run of it could not; without one, it would."""
    from types import SimpleNamespace

    from agentcli.sandbox import Sandbox, probe
    from agentcli.tools import Workspace

    bwrap = probe()[0]
    if bwrap is None:
        pytest.skip("no working bubblewrap here")
    outside = tmp_path / "outside.txt"
    work = tmp_path / "w"
    work.mkdir()
    script = f"open({str(outside)!r}, 'w').write('escaped')\nprint(4.0)\n"
    workdir(work, {"C1": entry(4.0), "C2": entry(None, notes="-"), "C3": entry(None, notes="-")},
            script=script)
    session = SimpleNamespace(tool_ctx=SimpleNamespace(services={"sandbox": Sandbox(bwrap)}),
                              workspace=Workspace(work))
    _, sandboxed = overnight.criteria(work, timeout=60, session={"run": session})
    assert sandboxed.problems() == [] and not outside.exists()
    _, plain = overnight.criteria(work, timeout=60)
    assert plain.problems() == [] and outside.read_text() == "escaped"
