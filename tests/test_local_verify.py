"""The checks the harness runs for a small model: the task's own command, before and after a
change, and the search for what a replace-everywhere task left (no model needed)."""

from __future__ import annotations

import pytest

from agentcli.local import steer, verify
from agentcli.types import Message
from conversation import call as _call, turn as _turn


def test_an_answer_right_after_an_edit_runs_the_command_the_task_names():
    task = Message(role="user", content="Running `python3 main.py` crashes. Fix it.")
    read = _turn(_call("read", {"path": "main.py"}, "r1"), "print(cart.totl())")
    edit = _turn(_call("edit", {"path": "main.py", "old": "a", "new": "b"}, "e1"), "edited main.py")
    run = verify.run_mentioned([task, *read, *edit])
    assert run.name == "shell" and run.arguments == {"command": "python3 main.py"}
    ran = _turn(_call("shell", {"command": "python3 main.py"}, "s1"), "exit code: 0\ntotal: 3.75")
    assert verify.run_mentioned([task, *read, *edit, *ran]) is None
    assert verify.run_mentioned([task, *read]) is None  # nothing changed yet
    plain = Message(role="user", content="Fix the typo in main.py.")
    assert verify.run_mentioned([plain, *read, *edit]) is None  # no command named


def test_only_a_checking_command_the_task_asks_for_is_run_for_the_model():
    read = _turn(_call("read", {"path": "main.py"}, "r1"), "print(cart.totl())")
    edit = _turn(_call("edit", {"path": "main.py", "old": "a", "new": "b"}, "e1"), "edited main.py")

    def run_for(prompt):
        call = verify.run_mentioned([Message(role="user", content=prompt), *read, *edit])
        return call.arguments["command"] if call else None

    assert run_for("Make `python3 -m pytest -q tests` pass.") == "python3 -m pytest -q tests"
    assert run_for("`npm test` fails; fix it.") == "npm test"
    assert run_for("Fix the bug, but don't run `python3 deploy.py`.") is None
    assert run_for("Fix it, then `./deploy.sh` and `make deploy`.") is None
    assert run_for("Fix it; `shred -u key.pem` is not for you.") is None
    assert run_for("Fix it so `python3 main.py; rm -rf build` works.") is None  # chained: not run


def test_the_tasks_command_passing_after_a_change_reminds_the_model_to_answer():
    task = Message(role="user", content="`python3 report.py` crashes. Fix report.py.")
    edit = _turn(_call("edit", {"path": "report.py", "old": "a", "new": "b"}, "e1"), "edited report.py")
    passed = _turn(_call("shell", {"command": "python3 report.py"}, "s1"), "exit code: 0\nstdout:\n21.2")
    note = verify.check_passed_note([task, *edit, *passed])
    assert note and "answer now" in note and "python3 report.py" in note
    failed = _turn(_call("shell", {"command": "python3 report.py"}, "s2"), "exit code: 1\nstderr: KeyError")
    assert verify.check_passed_note([task, *edit, *failed]) is None
    assert verify.check_passed_note([task, *passed]) is None  # nothing changed yet: no reminder


def test_an_answer_while_the_tasks_command_still_fails_goes_back():
    task = Message(role="user", content="`python3 report.py` crashes. Fix report.py.")
    edit = _turn(_call("edit", {"path": "report.py", "old": "a", "new": "b"}, "e1"), "edited report.py")
    failed = _turn(_call("shell", {"command": "python3 report.py"}, "s1"),
                   "exit code: 1\nstderr:\nKeyError: 'temp'")
    note = steer.answer_note([task, *edit, *failed], "To fix this, you need to handle the key.")
    assert note and "still fails" in note and "KeyError: 'temp'" in note
    passed = _turn(_call("shell", {"command": "python3 report.py"}, "s2"), "exit code: 0\nstdout:\nok")
    assert steer.answer_note([task, *edit, *failed, *passed], "Fixed report.py.") is None


def test_the_command_the_task_says_fails_runs_first():
    task = Message(role="user", content="`python3 test_stats.py` fails. Fix stats.py. Do not change the test.")
    first = verify.run_first([task])
    assert first.name == "shell" and first.arguments == {"command": "python3 test_stats.py"}
    assert verify.run_first([task, *_turn(first, "exit code: 1")]) is None
    assert verify.run_first([Message(role="user", content="Fix the bug in stats.py")]) is None
    assert verify.run_first([Message(role="user", content="Do not run `python3 deploy.py`; fix x.py")]) is None
    question = Message(role="user", content="What does `python3 deploy.py` do when it fails?")
    assert verify.run_first([question]) is None  # a question: nothing is run
    assert verify.run_first([Message(role="user", content="Add a --verbose flag to `python3 cli.py`.")]) is None


@pytest.mark.parametrize("prompt, pattern", [
    ("Rename the function `get_usr` to `get_user` everywhere.", r"\bget_usr\b"),
    ("Bump the project's version from 1.4.2 to 1.5.0 everywhere it is written.", r"\b1\.4\.2\b"),
])
def test_a_replace_everywhere_answer_is_checked_with_a_search_for_what_is_left(prompt, pattern):
    task = Message(role="user", content=prompt)
    edit = _turn(_call("edit", {"path": "a.py", "old": "x", "new": "y"}, "e1"), "edited a.py")
    assert verify.leftovers([task]) is None  # nothing changed yet: other notes apply
    search = verify.leftovers([task, *edit])
    assert search.name == "grep" and search.arguments == {"pattern": pattern}
    searched = [task, *edit, *_turn(search, "no matches")]
    assert verify.leftovers(searched) is None
    again = searched + _turn(_call("edit", {"path": "b.py", "old": "x", "new": "y"}, "e2"), "edited b.py")
    assert verify.leftovers(again) is not None  # changed again since: search again
    grows = Message(role="user", content="Rename `get` to `get_all` in api.py")
    assert verify.leftovers([grows, *edit]) is None


def test_a_failing_check_after_a_change_asks_for_another_change():
    task = Message(role="user", content="`python3 report.py` crashes. Fix report.py.")
    edit = _turn(_call("edit", {"path": "report.py", "old": "a", "new": "b"}, "e1"), "edited report.py")
    ran = _turn(_call("shell", {"command": "python3 report.py"}, "s1"), "exit code: 1\nKeyError: 'temp'")
    assert verify.check_failing([task, *edit, *ran])
    passed = _turn(_call("shell", {"command": "python3 report.py"}, "s2"), "exit code: 0\naverage: 21.2")
    assert not verify.check_failing([task, *edit, *ran, *passed])
