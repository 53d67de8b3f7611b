"""The parts of unattended runs on their own: durations, test summaries, markers, the stall
detector, and the state folded from an archive across a crash and a resume."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcli import deadline
from agentcli.library.archive import Archive
from agentcli.unattended.budgets import (BudgetError, Limits, Used, crossed_marks, exceeded, format_duration,
                                         parse_cost, parse_duration, parse_tokens)
from agentcli.unattended.checks import checks_in_prompt
from agentcli.unattended.observe import is_test_command, observe, summarize_tests
from agentcli.unattended.run import parse_marker
from agentcli.unattended.stall import StallDetector
from agentcli.unattended.state import ArchiveTail, RunState


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("30m", 1800), ("8h", 28800), ("1h30m", 5400),
                                          ("1.5h", 5400), ("45", 45), (" 2 h ", 7200), ("1d", 86400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "h", "0", "-5m", "1h-2m"])
def test_bad_durations(text):
    with pytest.raises(BudgetError):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**7))
def test_formatted_durations_read_back_close(seconds):
    assert abs(parse_duration(format_duration(seconds)) - seconds) <= max(60, seconds * 0.02)


def test_costs_and_tokens():
    assert parse_cost("$2.50") == 2.5 and parse_tokens("500k") == 500_000 and parse_tokens("2M") == 2_000_000
    for bad in ("free", "0"):
        with pytest.raises(BudgetError):
            parse_cost(bad)
    with pytest.raises(BudgetError):
        parse_tokens("lots")


def test_budgets_exceeded_and_marks():
    limits = Limits(time_s=100, cost_usd=1.0, tokens=1000)
    assert exceeded(limits, Used(time_s=50, cost_usd=0.5, tokens=10)) is None
    assert exceeded(limits, Used(time_s=100))[0] == "time"
    assert exceeded(limits, Used(cost_usd=1.2))[0] == "budget"
    assert exceeded(limits, Used(cost_usd=None, tokens=10)) is None  # unknown cost is not enforced
    assert exceeded(Limits(turns=3), Used(turns=3))[0] == "max_turns"
    marks = crossed_marks(limits, Used(time_s=55, tokens=260), {"time:25"})
    assert sorted(marks) == [("time", 50), ("tokens", 25)]


@pytest.mark.parametrize("output,summary", [
    ("..F\n=========== 1 failed, 2 passed in 0.12s ===========\n", "1 failed, 2 passed"),
    ("...\n3 passed in 0.01s\n", "3 passed"),
    ("Ran 4 tests in 0.001s\n\nFAILED (failures=1)\n", "ran 4: FAILED (failures=1)"),
    ("Ran 2 tests in 0.001s\n\nOK\n", "ran 2: OK"),
    ("Tests:       1 failed, 5 passed, 6 total\n", "1 failed, 5 passed, 6 total"),
    ("test result: ok. 7 passed; 0 failed; 0 ignored\n", "7 passed"),
    ("ok  \tpkg/a\t0.01s\nFAIL\tpkg/b\t0.02s\n", "go: 1 packages ok, 1 failed"),
    ("hello world\n", None),
])
def test_test_summaries(output, summary):
    assert summarize_tests(output) == summary


def test_test_commands_and_checks_named_in_a_prompt():
    assert is_test_command("cd api && python -m pytest -x tests/") and is_test_command("npm test")
    assert is_test_command("go test ./...") and not is_test_command("ls -la")
    prompt = "Make `pytest tests/test_api.py` pass; do not touch `setup.py`.\n```\n$ npm run test\n```"
    assert checks_in_prompt(prompt) == ["npm run test", "pytest tests/test_api.py"]


def test_observations_of_commands_and_edits():
    call = {"id": "c1", "name": "shell", "arguments": {"command": "pytest -q"}}
    result = {"message": {"content": "exit code: 1\nstdout:\n1 failed, 1 passed in 0.1s"},
              "meta": {"exit_code": 1}}
    obs = observe(call, result)
    assert obs["kind"] == "tests" and obs["summary"] == "1 failed, 1 passed" and obs["passed"] is False
    edit = observe({"name": "edit", "arguments": {"path": "a.py"}}, {"message": {"content": "edited a.py"},
                                                                     "meta": {"path": "a.py"}})
    assert edit["text"] == "edited a.py"
    assert observe({"name": "edit", "arguments": {"path": "a.py"}},
                   {"message": {"content": "error", "is_error": True}}) is None
    assert observe({"name": "read", "arguments": {"path": "a.py"}}, {"message": {"content": "x"}}) is None


@pytest.mark.parametrize("text,marker", [
    ("All good.\n\nDONE", ("done", "")), ("**Task complete.**", ("done", "")),
    ("BLOCKED: needs the API token", ("blocked", "needs the API token")),
    ("I am done with the first part, next I will fix the parser.", None), ("", None),
    ("DONE\nbut then more text", None),
])
def test_done_and_blocked_markers(text, marker):
    assert parse_marker(text) == marker


def _call(cmd: str) -> dict:
    return {"name": "shell", "arguments": {"command": cmd}}


def test_stall_detector_repeat_nudges_then_stops():
    d = StallDetector(turns=6, repeats=3)
    d.turn([(_call("pytest"), "exit code: 1 in 0.51s")], "s0")
    assert d.verdict() is None
    d.turn([(_call("pytest"), "exit code: 1 in 0.73s")], "s0")  # timings differ: same result
    assert d.verdict() is None
    d.turn([(_call("pytest"), "exit code: 1 in 0.62s")], "s0")
    v = d.verdict()
    assert v.action == "nudge" and v.signal == "repeat" and "3 times" in v.detail
    for _ in range(3):
        d.turn([(_call("pytest"), "exit code: 1 in 0.5s")], "s0")
    v = d.verdict()
    assert v.action == "stop" and "shell `pytest`" in " ".join(v.tried)


def test_results_differing_only_in_timings_paths_and_pids_are_not_new():
    from agentcli.callsig import content_hash

    a = "FAILED /tmp/pytest-of-u/pytest-105/t0/x.py::t - 1 failed in 0.51s (pid 41234) at 0x7f01"
    b = "FAILED /tmp/pytest-of-u/pytest-118/t0/x.py::t - 1 failed in 2.03s (pid 41990) at 0x7e22"
    assert content_hash(a) == content_hash(b)
    assert content_hash("1 failed, 2 passed") != content_hash("3 passed")


def test_stall_detector_progress_resets_the_episode():
    d = StallDetector(turns=2, repeats=3)
    d.baseline("s0")
    d.turn([], "s0")
    d.turn([], "s0")
    assert d.verdict().action == "nudge"
    d.turn([(_call("cat new"), "something new")], "s0")  # learned something: a new episode
    d.turn([], "s0")
    d.turn([], "s0")
    assert d.verdict().action == "nudge"
    d.turn([], "s1")  # a new file state is progress too
    assert d.verdict() is None and d.idle == 0


def test_stall_detector_sees_oscillation():
    d = StallDetector(turns=10)
    d.baseline("a")
    for state in ("a", "b", "a", "b"):
        d.turn([({"name": "edit", "arguments": {"path": "x"}}, f"edited to {state}")], state)
    v = d.verdict()
    assert v is not None and v.signal == "oscillation"


def test_state_folds_budgets_ledger_and_time_across_a_resume(tmp_path):
    archive = Archive(tmp_path / "events.jsonl")
    archive.append("unattended_start", goal="fix it", limits={"time_s": 3600, "tokens": 10_000},
                   checks=["pytest"], criteria=[], stall_turns=4, checkpoint=None)
    archive.append("assistant", message={"role": "assistant", "content": ""},
                   model="anthropic/claude-sonnet-4-5", usage={"input_tokens": 1000, "output_tokens": 100},
                   stop_reason="tool_use")
    archive.append("tool_call", call={"id": "t1", "name": "shell", "arguments": {"command": "pytest -q"}})
    archive.append("tool_result", message={"role": "tool", "content": "2 passed in 0.1s",
                                           "tool_call_id": "t1"}, meta={"exit_code": 0})
    archive.append("ledger", update={"done": ["ran tests"], "next": ["refactor"], "milestone": "green"})
    archive.append("budget_mark", budget="tokens", percent=25)
    archive.close()
    # A crash left half a line; the resumed process appends after it.
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"id": "e000007", "ts": "2')
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    # Make the first segment exactly 10 minutes long.
    first, last = json.loads(lines[0]), json.loads(lines[5])
    first["ts"], last["ts"] = "2025-01-01T00:00:00.000Z", "2025-01-01T00:10:00.000Z"
    lines[0], lines[5] = json.dumps(first), json.dumps(last)
    (tmp_path / "events.jsonl").write_text("\n".join(lines))
    resumed = Archive(tmp_path / "events.jsonl")
    resumed.append("unattended_resume", limits={"time_s": 7200, "tokens": 10_000}, reason="SIGKILL")

    state = RunState()
    for event in ArchiveTail(tmp_path / "events.jsonl").new_events():
        state.apply(event)
    assert state.goal == "fix it" and state.checks == ["pytest"] and state.stall_turns == 4
    assert state.limits.time_s == 7200 and state.resumes == 1
    assert state.closed_time_s == pytest.approx(600)
    assert state.used.tokens == 1100 and state.used.turns == 1 and state.used.cost_usd > 0
    assert [i.text for i in state.done] == ["ran tests", "milestone: green"]
    assert [i.text for i in state.lists["next"]] == ["refactor"]
    assert state.tests["pytest -q"]["summary"] == "2 passed" and state.marks == {"tokens:25"}
    assert any("resumed (SIGKILL)" in o.text for o in state.observations)


def _fold(events: list[tuple[str, int]]) -> RunState:
    """RunState folded from (type, second) events, one minute after 2025-01-01T00:00."""
    state = RunState()
    for n, (kind, second) in enumerate(events):
        state.apply({"id": f"e{n:06d}", "type": kind,
                     "ts": f"2025-01-01T00:{second // 60:02d}:{second % 60:02d}.000Z"})
    return state


def test_the_idle_time_before_a_resume_is_not_working_time():
    # Stopped on time after 10 s; resumed 30 s later: the session layer writes session_resume
    # (and interrupted results) before unattended_resume, all at resume time.
    state = _fold([("session_start", 0), ("unattended_start", 0), ("assistant", 4), ("tool_result", 9),
                   ("run_end", 10), ("checkpoint", 10),
                   ("session_resume", 40), ("tool_result", 40), ("unattended_resume", 41)])
    assert state.closed_time_s == 10
    assert state.last_stop is None and state.resumes == 1
    # The new stretch runs from the resume; a second resume after a crash (no run_end) closes it
    # at its last event.
    state2 = _fold([("unattended_start", 0), ("assistant", 10), ("run_end", 10),
                    ("session_resume", 40), ("unattended_resume", 41), ("assistant", 45),
                    ("tool_call", 47),
                    ("session_resume", 59 * 60), ("unattended_resume", 59 * 60 + 1)])
    assert state2.closed_time_s == 10 + 7


def test_the_stop_reason_before_a_resume_is_kept_for_the_resume_message():
    state = _fold([("unattended_start", 0), ("run_end", 10), ("session_resume", 40)])
    state.apply({"id": "x", "type": "run_end", "stop_reason": "time", "ts": "2025-01-01T00:00:10.000Z"})
    state.apply({"id": "y", "type": "session_resume", "ts": "2025-01-01T00:00:50.000Z"})
    assert state.last_stop == "time"  # what UnattendedRun.resume says the run had stopped on


def test_archive_tail_reads_only_new_complete_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    archive = Archive(path)
    archive.append("user", message={"role": "user", "content": "a"})
    tail = ArchiveTail(path)
    assert [e["type"] for e in tail.new_events()] == ["user"]
    assert list(tail.new_events()) == []
    archive.close()
    with open(path, "a") as f:  # a process killed mid-write
        f.write('{"id": "e000002", "type": "half')
    assert list(tail.new_events()) == []
    Archive(path).append("assistant", message={"role": "assistant", "content": "b"})  # the resumed one
    assert [e["type"] for e in tail.new_events()] == ["assistant"]


def test_deadline_guard_interrupts_only_inside_and_keeps_what_arrives_outside():
    deadline.clear()
    started = time.monotonic()
    with pytest.raises(deadline.StopRun) as exc:
        with deadline.guard(time.monotonic() + 0.3):
            time.sleep(5)
    assert exc.value.stop_reason == "time" and time.monotonic() - started < 2
    deadline.clear()
    reached_end_of_shield = False
    with pytest.raises(deadline.StopRun):
        with deadline.guard(time.monotonic() + 0.2):
            with deadline.shield():
                time.sleep(0.4)  # the alarm fires here, but is held off until the shield ends
                reached_end_of_shield = deadline.pending() is not None
    assert reached_end_of_shield
    deadline.clear()
    with deadline.guard(time.monotonic() + 0.2):
        pass
    time.sleep(0.3)  # outside a guard: nothing is interrupted and no alarm is left armed
    assert deadline.pending() is None
