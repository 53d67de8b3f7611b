"""Each steering rule on its own (local/rules.py), on a task, a state and a decode written here:
no model, no other rule. The composition is tested through reply.Steering (test_local_reply.py)."""

from __future__ import annotations

import re

import pytest

from agentcli.local import rules, steer
from agentcli.local.decisions import (
    Attempt,
    Decode,
    Instead,
    Refuse,
    Replace,
    SendBack,
    Settle,
    State,
    TaskView,
)
from agentcli.types import Message
from conversation import call, turn
from test_local_codemode import PACKED, STATS

NAMES = frozenset({"read", "grep", "glob", "edit", "write", "shell"})
QUESTION = Message(role="user", content="What is the value of TIMEOUT_SECONDS in src/app.py?")
READ_UTIL = call("read", {"path": "src/util.py"}, "c1")
EDIT = call("edit", {"path": "stats.py", "old": "x - 1", "new": "x"}, "e1")


def _task(messages=(QUESTION,), names=NAMES, change=False, code_path=None, files=()):
    return TaskView(list(messages), frozenset(names), list(files), 256, change, code_path, None)


def _now(text="", calls=(), **facts):
    facts = {"whole": text, "text": text, "words": text, "errors": (), "finish": "stop", "number": 0,
             "last": False, **facts}
    return Attempt(calls=tuple(calls), **facts)


FREE = State("free")


def test_words_call_a_decode_that_is_only_a_call_in_words_mode_decodes_again_as_it_was():
    state = State("words", "answer in words", ("edit",))
    assert rules.WordsCall()(_task(), state, _now(dropped=READ_UTIL)) == Decode("words", "answer in words", ("edit",))
    assert rules.WordsCall()(_task(), state, _now("It is 37.", dropped=READ_UTIL, answer="It is 37.")) is None
    assert rules.WordsCall()(_task(), state, _now(dropped=READ_UTIL, last=True)) is None  # GiveUp's


def test_code_write_the_code_block_becomes_the_write_of_the_file_to_fix():
    fixed = STATS.replace("(len(values) - 1)", "len(values)")
    now = _now("The divisor is one short.\n```python\n" + fixed + "```\n")
    decision = rules.CodeWrite()(_task(PACKED, change=True, code_path="stats.py"), State("code"), now)
    assert isinstance(decision, Instead) and decision.call.name == "write"
    assert decision.call.arguments == {"path": "stats.py", "content": fixed}
    assert rules.CodeWrite()(_task(PACKED, change=True, code_path="stats.py"), FREE, now) is None
    assert rules.CodeWrite()(_task(PACKED, code_path="stats.py"), State("code"), _now("No idea.")) is None


def test_code_again_first_as_code_once_more_then_its_own_pick():
    state = State("code", "write stats.py", ())
    assert rules.CodeAgain()(_task(), state, _now()) == Decode("code", "write stats.py", ())
    assert rules.CodeAgain()(_task(), state, _now(number=1)) == Decode("free", None, ())
    assert rules.CodeAgain()(_task(), state, _now(number=2, last=True)) is None
    assert rules.CodeAgain()(_task(), FREE, _now()) is None


def test_code_edit_a_python_block_in_a_change_task_is_applied_to_the_file_read():
    fixed = STATS.replace("(len(values) - 1)", "len(values)")
    block = "```python\ndef mean(values):\n    return sum(values) / len(values)\n```"
    decision = rules.CodeEdit()(_task(PACKED, change=True), FREE, _now(block))
    assert isinstance(decision, Instead) and decision.call.arguments == {"path": "stats.py", "content": fixed}
    assert rules.CodeEdit()(_task(PACKED, change=False), FREE, _now(block)) is None  # a question
    assert rules.CodeEdit()(_task(PACKED, change=True), State("call"), _now(block)) is None
    assert rules.CodeEdit()(_task(PACKED, change=True), FREE, _now(block, [READ_UTIL])) is None


def test_read_named_a_stuck_or_early_reply_reads_the_file_the_task_names():
    msgs = [QUESTION, *turn(READ_UTIL, "def add(a, b):")]
    decision = rules.ReadNamed()(_task(msgs), FREE, _now(calls=[READ_UTIL], repeated="ok"))
    assert decision == Instead(steer.read_mentioned(msgs)) and decision.call.arguments == {"path": "src/app.py"}
    early = _now("It is 10.", answer="It is 10.", premature="look first")
    assert rules.ReadNamed()(_task(msgs), FREE, early) == decision
    assert rules.ReadNamed()(_task(msgs), FREE, _now("It is 10.", answer="It is 10.")) is None
    assert rules.ReadNamed()(_task(msgs, names={"grep"}), FREE, early) is None


def test_reread_the_same_failed_edit_again_reads_the_file_afresh():
    task = Message(role="user", content="Fix the bug in stats.py.")
    msgs = [task, *turn(call("read", {"path": "stats.py"}, "r1"), "x = 1"),
            *turn(EDIT, "error: `old` was not found in stats.py", is_error=True)]
    again = call("edit", EDIT.arguments, "e2")
    decision = rules.Reread()(_task(msgs), FREE, _now(calls=[again], repeated="failed"))
    assert isinstance(decision, Instead) and decision.call.name == "read"
    assert decision.call.arguments == {"path": "stats.py"}
    assert rules.Reread()(_task(msgs), FREE, _now(calls=[again], repeated="ok")) is None


@pytest.mark.parametrize("repeated", ["ok", "failed again"])
def test_give_up_a_call_repeated_to_the_last_decode_stops_the_reply(repeated):
    decision = rules.GiveUp()(_task(), FREE, _now("", [READ_UTIL], repeated=repeated, last=True))
    assert decision == Settle('(stopped: the model kept repeating the call read {"path": "src/util.py"})')
    assert rules.GiveUp()(_task(), FREE, _now("Done.", [READ_UTIL], repeated=repeated, last=True)) == Settle("Done.")
    assert rules.GiveUp()(_task(), FREE, _now("", [READ_UTIL], repeated=repeated)) is None


def test_give_up_also_ends_a_words_reply_that_is_only_a_call_and_not_a_failed_call_once():
    words = rules.GiveUp()(_task(), State("words"), _now(dropped=READ_UTIL, last=True))
    assert words.calls == () and words.text.startswith("(stopped: the model kept repeating the call read")
    assert rules.GiveUp()(_task(), FREE, _now("", [EDIT], repeated="failed", last=True)) is None


def test_failed_stands_a_failed_call_repeated_last_runs_and_fails_again():
    now = _now("again", [EDIT], repeated="failed", last=True)
    assert rules.FailedStands()(_task(), FREE, now) == Settle("again", (EDIT,))
    assert rules.FailedStands()(_task(), FREE, _now("", [EDIT], repeated="failed")) is None


def test_failed_repeat_pushes_it_to_a_call_then_to_the_grammar():
    msgs = [QUESTION, *turn(EDIT, "error: not found", is_error=True)]
    now = _now("", [EDIT], repeated="failed")
    free = rules.FailedRepeat()(_task(msgs), State("free", None, ("edit",)), now)
    assert free == Decode("call", steer.failed_repeat_note(EDIT, msgs), ("edit",))
    assert rules.FailedRepeat()(_task(msgs), State("call"), now).mode == "grammar"
    assert rules.FailedRepeat()(_task(msgs), FREE, _now("", [EDIT], repeated="ok")) is None


def test_change_only_a_reread_instead_of_a_change_allows_only_a_change():
    change = Message(role="user", content="Fix the divisor in stats.py.")
    msgs = [change, *turn(call("read", {"path": "stats.py"}, "r1"), "x = 1")]
    now = _now("", [call("read", {"path": "stats.py"}, "r2")], repeated="ok")
    decision = rules.ChangeOnly()(_task(msgs), FREE, now)
    assert decision.mode == "call" and decision.only == steer.CHANGE_TOOLS
    assert decision.note == steer.CHANGE_NOTE + "\nThe task: Fix the divisor in stats.py."
    assert rules.ChangeOnly()(_task(msgs), State("free", "kept"), now).note == "kept"
    assert rules.ChangeOnly()(_task([QUESTION]), FREE, now) is None  # a question: no change is due
    assert rules.ChangeOnly()(_task([QUESTION]), State("free", None, ("edit",)), now) is not None


def test_remind_first_the_task_then_an_answer_in_words():
    msgs = [QUESTION, *turn(READ_UTIL, "def add(a, b):")]
    now = _now("", [READ_UTIL], repeated="ok")
    first = rules.Remind()(_task(msgs), FREE, now)
    assert first == Decode("free", steer.repeat_note(READ_UTIL, msgs), ())
    insists = rules.Remind()(_task(msgs), State("free", first.note), now)
    assert insists == Decode("words", steer.repeat_note(READ_UTIL, msgs, insist=True), ())
    assert rules.Remind()(_task(msgs), FREE, _now("", [READ_UTIL])) is None


def test_read_first_an_edit_of_a_file_never_seen_reads_it_first():
    now = _now("Fixing.", [EDIT], usable=True, meant=EDIT)
    decision = rules.ReadFirst()(_task(), FREE, now)
    assert decision == Replace(steer.read_first(EDIT, [QUESTION])) and decision.call.name == "read"
    assert rules.ReadFirst()(_task(names={"edit"}), FREE, now) is None
    assert rules.ReadFirst()(_task(), FREE, _now("", [EDIT])) is None  # not usable


def test_refused_a_change_cut_off_or_forbidden_does_not_run():
    cut = rules.Refused()(_task(), FREE, _now("", [EDIT], usable=True, meant=EDIT, finish="length"))
    assert isinstance(cut, Refuse) and cut.call == EDIT and "cut off at the output limit (256 tokens)" in cut.reason
    keep = Message(role="user", content="Fix stats.py. Do not change config.json.")
    write = call("write", {"path": "config.json", "content": "{}"}, "w1")
    kept = rules.Refused()(_task([keep]), FREE, _now("", [write], usable=True, meant=write))
    assert isinstance(kept, Refuse) and "config.json was left as it is" in kept.reason
    assert rules.Refused()(_task(), FREE, _now("", [EDIT], usable=True, meant=EDIT)) is None


def test_meant_a_usable_call_runs_as_the_model_meant_it():
    mended = call("edit", {"path": "stats.py", "old": "x - 1", "new": "x"}, "e9")
    assert rules.Meant()(_task(), FREE, _now("", [EDIT], usable=True, meant=mended)) == Replace(mended)
    assert rules.Meant()(_task(), FREE, _now("", [call("nosuch", {})])) is None


def test_early_answer_an_early_answer_goes_back_and_a_missing_change_allows_only_a_change():
    state = State("free", None, ("read",))
    assert rules.EarlyAnswer()(_task(), state, _now(premature="look first")) == SendBack("look first", ("read",))
    change = steer.CHANGE_NOTE + " Now."
    assert rules.EarlyAnswer()(_task(), state, _now(premature=change)) == SendBack(change, steer.CHANGE_TOOLS)
    assert rules.EarlyAnswer()(_task(), state, _now("It is 37.", answer="It is 37.")) is None


def test_unchanged_target_a_claimed_change_never_made_brings_the_file_back():
    task = Message(role="user", content="Bump the version from 1.4.2 to 1.5.0 everywhere it is written.")
    msgs = [task, *turn(call("edit", {"path": "setup.cfg", "old": "1.4.2", "new": "1.5.0"}, "e1"), "edited")]
    answer = "Updated to 1.5.0 in setup.cfg and weatherlib/__init__.py."
    decision = rules.UnchangedTarget()(_task(msgs), FREE, _now(answer, answer=answer))
    assert decision == Instead(steer.unchanged_target(msgs, answer))
    assert decision.call.arguments == {"path": "weatherlib/__init__.py"}
    assert rules.UnchangedTarget()(_task(msgs, names={"grep"}), FREE, _now(answer, answer=answer)) is None
    assert rules.UnchangedTarget()(_task(msgs), FREE, _now(answer)) is None  # no answer: a call


def test_run_command_an_answer_after_an_edit_runs_the_tasks_command():
    task = Message(role="user", content="Running `python3 main.py` crashes. Fix it.")
    msgs = [task, *turn(call("edit", {"path": "main.py", "old": "a", "new": "b"}, "e1"), "edited main.py")]
    decision = rules.RunCommand()(_task(msgs), FREE, _now("Fixed.", answer="Fixed."))
    assert isinstance(decision, Instead) and decision.call.arguments == {"command": "python3 main.py"}
    assert rules.RunCommand()(_task(msgs, names={"read"}), FREE, _now("Fixed.", answer="Fixed.")) is None


def test_leftovers_a_replace_everywhere_answer_searches_for_what_is_left():
    task = Message(role="user", content="Rename the function `get_usr` to `get_user` everywhere.")
    msgs = [task, *turn(call("edit", {"path": "a.py", "old": "x", "new": "y"}, "e1"), "edited a.py")]
    decision = rules.Leftovers()(_task(msgs), FREE, _now("Done.", answer="Done."))
    assert isinstance(decision, Instead) and decision.call.arguments == {"pattern": r"\bget_usr\b"}
    assert rules.Leftovers()(_task(msgs, names={"read"}), FREE, _now("Done.", answer="Done.")) is None


def test_answer_an_answer_that_got_this_far_stands():
    assert rules.Answer()(_task(), FREE, _now("It is 37.", answer="It is 37.")) == Settle("It is 37.")
    assert rules.Answer()(_task(), FREE, _now("", [call("nosuch", {})])) is None


def test_grammar_a_broken_call_with_the_opener_written_is_decoded_under_the_grammar_next():
    state = State("call", "a note", ("edit",))
    assert rules.Grammar()(_task(), state, _now(errors=("bad",))) == Decode("grammar", "a note", ("edit",))
    assert rules.Grammar()(_task(), state, _now(errors=("bad",), last=True)) is None
    assert rules.Grammar()(_task(), FREE, _now(errors=("bad",))) is None


def test_broken_a_call_that_could_not_be_read_goes_back_with_what_was_wrong():
    whole = '<tool_call>\n{"name": "edit", "arguments": {"path": "a.py"\n</tool_call>'
    error = "could not read the tool call '{\"name\": ...': Expecting ',' delimiter"
    decision = rules.Broken()(_task(), FREE, _now(whole, errors=(error,), number=1))
    (bad,) = decision.calls
    assert bad.id == "call_bad_1_1" and bad.name == "(unparsed)" and bad.arguments is None
    assert bad.raw_arguments == '{"name": "edit", "arguments": {"path": "a.py"'
    assert bad.parse_error.startswith("your tool call is not valid JSON (Expecting ',' delimiter)")
    assert rules.Broken()(_task(), FREE, _now("", [READ_UTIL], errors=(error,))) is None


def test_the_rules_run_in_the_order_the_module_documents():
    documented = re.findall(r"^\s*\d+\. (\w+):", rules.__doc__, re.MULTILINE)
    assert documented == [type(rule).__name__ for rule in rules.RULES]


def test_a_decision_to_decode_again_is_the_replys_next_state_and_an_answer_goes_back_once():
    sent = State("call", "look first", ("read",), sent_back=True)
    assert Decode("free", None, ()).after(sent) == State("free", None, (), sent_back=True)
    assert SendBack("look first", ("edit",)).after(FREE) == State("call", "look first", ("edit",), sent_back=True)
