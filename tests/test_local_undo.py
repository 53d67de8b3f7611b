"""A change that makes the task's check worse is taken back by the harness (local/undo.py)."""

from __future__ import annotations

import json

from agentcli.local import codemode, undo, verify
from agentcli.types import Message, ToolCall

OLD = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
BROKEN = "from stats import mean\n\nassert mean([2]) == 2\n"
TASK = Message(role="user", content="`python3 test_stats.py` fails. Fix the bug in stats.py.")


def _step(cid, name, args, out, error=False):
    call = ToolCall(cid, name, args, json.dumps(args))
    return [Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", content=out, tool_call_id=cid, name=name, is_error=error)]


def _numbered(text):
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.rstrip("\n").split("\n"), 1))


def _run(cid, out):
    return _step(cid, "shell", {"command": "python3 test_stats.py"}, out)


BEFORE = [TASK, *_run("call_run_first", "exit code: 1\nAssertionError: 6.0"),
          *_step("call_pack_2_0", "read", {"path": "stats.py"}, _numbered(OLD))]


def _after(change_result, check_out, content=BROKEN):
    return BEFORE + _step("c5", "write", {"path": "stats.py", "content": content}, change_result) \
        + _run("call_run_6", check_out)


def test_a_change_that_breaks_loading_is_written_back_to_the_text_read_before_it():
    msgs = _after("overwrote stats.py", "exit code: 1\nImportError: cannot import name 'mean' from "
                  "partially initialized module 'stats'")
    call = undo.undo_worse(msgs)
    assert call.name == "write" and call.id.startswith(undo.PREFIX)
    assert call.arguments == {"path": "stats.py", "content": OLD}
    # The model is told, and asked for the fix again; the check is not run again for the undo.
    msgs += _step(call.id, "write", call.arguments, "overwrote stats.py")
    assert verify.check_after_change(msgs) is None
    assert codemode.target(msgs) == "stats.py"
    assert codemode.note("stats.py", msgs).startswith("Your last change made it worse")


def test_a_change_that_only_changes_the_failure_or_helps_stays():
    same_kind = _after("overwrote stats.py", "exit code: 1\nAssertionError: 5.0")
    assert undo.undo_worse(same_kind) is None
    passing = _after("overwrote stats.py", "exit code: 0\nall tests passed")
    assert undo.undo_worse(passing) is None
    assert undo.undo_worse(BEFORE) is None  # no change yet


def test_more_failing_tests_or_a_pass_turned_into_a_failure_is_worse():
    assert undo._worse("exit code: 1\n== 1 failed, 4 passed ==", "exit code: 1\n== 2 failed, 3 passed ==")
    assert not undo._worse("exit code: 1\n== 2 failed, 3 passed ==", "exit code: 1\n== 1 failed, 4 passed ==")
    assert undo._worse("exit code: 0\nOK", "exit code: 1\nFAILED (failures=1)")
    assert undo._worse("exit code: 1\nFAILED (failures=1)", "exit code: 1\nFAILED (failures=3)")


def test_nothing_is_undone_without_the_text_from_before():
    unread = [TASK, *_run("call_run_first", "exit code: 1\nAssertionError: 6.0"),
              *_step("c5", "write", {"path": "stats.py", "content": BROKEN}, "overwrote stats.py"),
              *_run("call_run_6", "exit code: 1\nSyntaxError: invalid syntax")]
    assert undo.undo_worse(unread) is None


def test_undo_takes_the_exact_path_and_steps_aside_when_a_shell_command_ran():
    # The harness read utils.py; the model changed pkg/utils.py: the text of utils.py is not its.
    other = [TASK, *_run("call_run_first", "exit code: 1\nAssertionError"),
             *_step("call_pack_2_0", "read", {"path": "utils.py"}, _numbered(OLD)),
             *_step("c5", "write", {"path": "pkg/utils.py", "content": BROKEN}, "overwrote pkg/utils.py"),
             *_run("call_run_6", "exit code: 1\nSyntaxError: invalid syntax")]
    assert undo.undo_worse(other) is None
    sed = BEFORE + _step("c4", "shell", {"command": "sed -i s/1/2/ stats.py"}, "exit code: 0") + \
        _step("c5", "write", {"path": "stats.py", "content": BROKEN}, "overwrote stats.py") + \
        _run("call_run_6", "exit code: 1\nSyntaxError: invalid syntax")
    assert undo.undo_worse(sed) is None


def test_a_chosen_exit_status_and_fewer_unittest_errors_are_not_worse():
    assert not undo._worse("exit code: 0\nusage: cli FILE", "exit code: 2\nerror: no file given")
    assert not undo._worse("exit code: 1\nFAILED (failures=1, errors=2)", "exit code: 1\nFAILED (errors=2)")
    assert undo._worse("exit code: 1\nFAILED (failures=1)", "exit code: 1\nFAILED (failures=1, errors=1)")


def test_a_change_once_undone_is_not_taken_again():
    msgs = _after("overwrote stats.py", "exit code: 1\nImportError: cannot import name 'mean'")
    call = undo.undo_worse(msgs)
    msgs += _step(call.id, "write", call.arguments, "overwrote stats.py")
    again = ToolCall("c9", "write", {"path": "stats.py", "content": BROKEN}, "{}")
    assert undo.was_undone(again, msgs)
    assert not undo.was_undone(ToolCall("c9", "write", {"path": "stats.py", "content": OLD + "\n"}, "{}"), msgs)


def test_after_an_undo_the_baseline_is_the_run_before_the_undone_change():
    broken = "exit code: 1\nImportError: cannot import name 'mean'"
    msgs = _after("overwrote stats.py", broken)
    first = undo.undo_worse(msgs)
    msgs += _step(first.id, "write", first.arguments, "overwrote stats.py")
    # Another change that breaks loading the same way: worse than the state before the first.
    msgs += _step("c8", "write", {"path": "stats.py", "content": BROKEN + "\n"}, "overwrote stats.py")
    msgs += _run("call_run_9", broken)
    second = undo.undo_worse(msgs)
    assert second is not None and second.arguments == {"path": "stats.py", "content": OLD}
