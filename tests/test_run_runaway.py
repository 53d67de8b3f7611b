"""A plain `agentcli run` (no budget flags) cannot run away: a model making the same call with the
same result turn after turn is stopped as stalled, and a run has a default turn limit. The chat
keeps only the repetition guard, counted afresh for each prompt."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentcli.library.context import Context
from agentcli.policy import DEFAULT_RUN_TURNS, REPEAT_LIMIT, Policy
from agentcli.testing.scripted_server import Turn
from agentcli.types import Message, ToolCall

SAME = {"name": "shell", "arguments": {"command": "ls src"}}


def test_a_model_repeating_the_same_call_forever_is_stopped(server, cli, workspace):
    srv = server(lambda req: Turn(tool_calls=[SAME]))
    result, proc = cli(srv).json("run", "list the files", "-C", str(workspace), "--model", "openai/m",
                                 timeout=120)
    assert proc.returncode == 1
    assert result["stop_reason"] == "stalled" and result["is_error"] is True
    assert result["num_turns"] == REPEAT_LIMIT and len(srv.requests) == REPEAT_LIMIT
    assert "shell `ls src`" in result["result"] and f"{REPEAT_LIMIT} times in a row" in result["result"]
    stopped = [ln for ln in proc.stderr.splitlines() if ln.startswith("agentcli: stopped")]
    assert stopped == [f"agentcli: stopped (stalled): {result['result']}"]


def test_the_same_call_with_a_new_result_each_time_is_not_a_repeat(server, cli, workspace):
    # A counter that grows: the call is the same, what it returns is not.
    grow = {"name": "shell", "arguments": {"command": "echo x >> n.txt; wc -l < n.txt"}}
    srv = server(lambda req: Turn(tool_calls=[grow]))
    result, proc = cli(srv).json("run", "count", "-C", str(workspace), "--model", "openai/m",
                                 "--max-turns", str(REPEAT_LIMIT + 3))
    assert result["stop_reason"] == "max_turns" and result["num_turns"] == REPEAT_LIMIT + 3
    assert f"--max-turns {REPEAT_LIMIT + 3}" in result["result"]


def test_the_same_call_after_a_different_one_starts_counting_again(server, cli, workspace):
    other = {"name": "glob", "arguments": {"pattern": "*.md"}}
    script = [SAME] * (REPEAT_LIMIT - 1) + [other] + [SAME] * (REPEAT_LIMIT - 1)
    srv = server([Turn(tool_calls=[c]) for c in script] + [Turn(text="There are two files.")])
    result, proc = cli(srv).json("run", "list", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0, proc.stderr
    assert result["stop_reason"] == "done" and result["num_turns"] == len(script) + 1


def test_help_names_the_defaults(cli):
    words = " ".join(cli()("run", "--help").stdout.replace("│", " ").split())
    assert f"plain run: {DEFAULT_RUN_TURNS}" in words and f"{REPEAT_LIMIT} turns in a row" in words


# -- the policy on its own ------------------------------------------------------------------------

class FakeSession:
    """What a policy looks at: the turn count and the window."""

    def __init__(self) -> None:
        self.turns = 0
        self.context = Context()

    def turn(self, command: str, result: str) -> None:
        self.turns += 1
        call = ToolCall(id=f"c{self.turns}", name="shell", arguments={"command": command})
        self.context.add(f"a{self.turns}", Message(role="assistant", tool_calls=[call]))
        self.context.add(f"r{self.turns}", Message(role="tool", content=result, tool_call_id=call.id))


def _drive(policy: Policy, session: FakeSession, turns: int, same: bool) -> tuple[int, object]:
    for n in range(turns):
        stop = policy.before_turn(session)  # type: ignore[arg-type]
        if stop is not None:
            return n, stop
        session.turn("make" if same else f"step {n}", "ok" if same else f"output {n}")
    return turns, policy.before_turn(session)  # type: ignore[arg-type]


def test_a_plain_run_has_a_default_turn_limit_that_says_how_to_raise_it():
    n, stop = _drive(Policy.headless(None), FakeSession(), DEFAULT_RUN_TURNS + 5, same=False)
    assert n == DEFAULT_RUN_TURNS and stop.stop_reason == "max_turns"
    assert "default limit" in stop.result and "--max-turns" in stop.result
    n, stop = _drive(Policy.headless(7), FakeSession(), 50, same=False)
    assert n == 7 and "--max-turns 7" in stop.result


def test_the_chat_policy_has_no_turn_limit_only_the_repeat_guard():
    assert _drive(Policy(None), FakeSession(), DEFAULT_RUN_TURNS * 2, same=False)[1] is None
    policy, session = Policy(None), FakeSession()
    n, stop = _drive(policy, session, 50, same=True)
    assert n == REPEAT_LIMIT and stop.stop_reason == "stalled"
    policy.reset()  # the next prompt in the chat starts afresh
    session.context.add("u", Message(role="user", content="try something else"))
    assert policy.before_turn(session) is None  # type: ignore[arg-type]
    n, stop = _drive(policy, session, 50, same=True)
    assert n == REPEAT_LIMIT


def test_a_model_error_retry_is_not_counted_as_another_repeat():
    policy, session = Policy(None, repeat_limit=3), FakeSession()
    for _ in range(2):
        assert policy.before_turn(session) is None  # type: ignore[arg-type]
        session.turn("make", "ok")
    for _ in range(5):  # the loop asks again after a retried model call: no new turn
        assert policy.before_turn(session) is None  # type: ignore[arg-type]
    session.turn("make", "ok")
    assert policy.before_turn(session).stop_reason == "stalled"  # type: ignore[arg-type, union-attr]
