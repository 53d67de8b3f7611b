"""What unattended runs tell people: a stall says what the run really tried, the unknown-price
notice names only the budgets that are enforced, and "What remains" drops steps reported done."""

from __future__ import annotations

from agentcli.testing.scripted_server import Turn
from agentcli.unattended.budgets import Limits, unpriced_notice
from agentcli.unattended.ledger import tried
from agentcli.unattended.state import RunState, same_step
from tests.test_unattended_e2e import repo, session_dir  # noqa: F401 - the fixture


def _script(req) -> Turn:
    steps = [
        Turn(tool_calls=[{"name": "progress", "arguments": {
            "in_progress": ["fix add in calc.py"], "next": ["run the tests", "write a changelog entry"]}}]),
        Turn(tool_calls=[{"name": "read", "arguments": {"path": "calc.py"}}]),
        Turn(tool_calls=[{"name": "edit", "arguments": {"path": "calc.py", "old": "a - b", "new": "a + b"}}]),
        Turn(tool_calls=[{"name": "shell", "arguments": {"command": "python -m pytest -q"}}]),
        Turn(tool_calls=[{"name": "progress", "arguments": {
            "done": ["Fixed add in calc.py", "ran the tests"], "milestone": "add works"}}]),
    ]
    n = req.assistant_turns
    return steps[n] if n < len(steps) else Turn(text="Let me think about what else could be done.")


def test_a_stall_after_real_work_says_what_was_tried_and_what_remains(server, cli, repo):  # noqa: F811
    srv = server(_script)
    result, proc = cli(srv).json("run", "fix add", "-C", str(repo), "--model", "anthropic/m",
                                 "--checkpoint", "git", "--stall-turns", "2", timeout=180)
    assert result["stop_reason"] == "stalled", proc.stderr
    message = result["result"]
    assert "Tried: nothing" not in message
    for step in ("read `calc.py`", "edit `calc.py`", "shell `python -m pytest -q`", "1 commit(s)"):
        assert step in message, message
    report = (session_dir(result, repo) / "REPORT.md").read_text()
    assert "edit `calc.py`" in report.split("## What was asked")[0]  # in the headline
    remains = report.split("## What remains")[1].split("## How to go on")[0]
    assert "write a changelog entry" in remains
    assert "fix add" not in remains.lower() and "run the tests" not in remains
    progress = (session_dir(result, repo) / "PROGRESS.md").read_text()
    in_progress = progress.split("## In progress")[1].split("## Next")[0]
    assert "(none)" in in_progress


def test_the_unknown_price_notice_names_only_the_budgets_that_hold(server, cli, repo):  # noqa: F811
    done = Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])
    srv = server([done])
    result, proc = cli(srv).json("run", "x", "-C", str(repo), "--model", "openai/m", "--max-cost", "2")
    notice = [ln for ln in proc.stderr.splitlines() if "price of" in ln]
    assert len(notice) == 1 and "cannot be enforced" in notice[0]
    assert "--max-tokens" not in notice[0].split("add")[0] and "still" not in notice[0]
    assert "no other budget is set" in notice[0]
    _, proc = cli(srv).json("run", "x", "-C", str(repo), "--model", "openai/m", "--max-cost", "2",
                            "--max-time", "1h")
    notice = [ln for ln in proc.stderr.splitlines() if "price of" in ln]
    assert notice and notice[0].endswith("--max-time is still enforced")


def test_unpriced_notice_wording():
    assert unpriced_notice("x/m", Limits(cost_usd=1, tokens=5, time_s=9)).endswith(
        "--max-time and --max-tokens are still enforced")
    assert unpriced_notice("x/m", Limits(cost_usd=1, turns=5)).endswith("--max-turns is still enforced")


def test_the_latest_progress_report_wins():
    state = RunState()
    for n, update in enumerate([
            {"in_progress": ["fix the parser"], "next": ["run the tests", "update docs"],
             "blockers": ["parser spec unclear"]},
            {"done": ["Fixed the parser", "ran tests"]},
            {"next": ["release"], "done": ["docs updated"]}]):
        state.apply({"id": f"e{n}", "type": "ledger", "update": update, "ts": f"2025-01-01T00:00:0{n}Z"})
        if n == 1:
            assert [i.text for i in state.lists["in_progress"]] == []
            assert [i.text for i in state.lists["next"]] == ["update docs"]
            assert [i.text for i in state.lists["blockers"]] == ["parser spec unclear"]
    assert [i.text for i in state.lists["next"]] == ["release"]  # a list given replaces the old one
    assert [i.text for i in state.done] == ["Fixed the parser", "ran tests", "docs updated"]


def test_items_that_name_different_steps_stay():
    assert same_step("fix the parser", "Fixed the parser") and same_step("run the tests", "ran tests")
    assert not same_step("write tests for parse()", "ran tests")
    assert not same_step("fix calc.add", "fix calc.sub")


def test_tried_is_made_from_the_archive():
    state = RunState()
    assert tried(state) == "no tool call at all"
    calls = [{"name": "shell", "arguments": {"command": "pytest -q"}}] * 3 + [
        {"name": "edit", "arguments": {"path": "a.py"}}, {"name": "progress", "arguments": {"note": "x"}}]
    for n, call in enumerate(calls):
        state.apply({"id": f"e{n}", "type": "tool_call", "call": {"id": f"c{n}", **call}, "ts": ""})
    assert tried(state) == "shell `pytest -q` ×3, edit `a.py`"
