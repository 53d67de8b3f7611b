"""One reply's decoding (local/reply.py), judged on decodes written here: no model needed."""

from __future__ import annotations

from dataclasses import replace

from agentcli.local import reply, steer
from agentcli.models.base import Request
from agentcli.types import Message
from conversation import call, turn

NAMES = {"read", "grep", "glob", "edit", "write", "shell"}
ASK = Message(role="user", content="What is the value of TIMEOUT_SECONDS in src/app.py?")
READ_UTIL = call("read", {"path": "src/util.py"}, "c1")
READ_APP = call("read", {"path": "src/app.py"}, "c2")
SEEN = [ASK, *turn(READ_UTIL, "     1\tdef add(a, b):"), *turn(READ_APP, "     4\tTIMEOUT_SECONDS = 37")]
AGAIN = '{"name": "read", "arguments": {"path": "src/util.py"}}'


def _told_to_answer_in_words() -> reply.Steering:
    steering = reply.Steering(Request(system="", messages=SEEN, tools=[]), NAMES, [], steer.Plan())
    assert not steering.judge(AGAIN, "stop", 0)  # the repeat: reminded of the task
    assert not steering.judge(AGAIN, "stop", 1) and steering.mode == "words"  # insists
    return steering


def test_told_to_answer_in_words_a_call_written_as_bare_json_does_not_run_and_its_words_stand():
    """CI saw the 0.5B, after a resume, repeat a read through every decode of a reply and stop
    with no answer: in words mode the call tag is banned, but a bare call object still parsed."""
    steering = _told_to_answer_in_words()
    assert steering.judge("TIMEOUT_SECONDS is 37.\n" + AGAIN, "stop", 2)
    assert steering.calls == [] and steering.text.strip() == "TIMEOUT_SECONDS is 37."


def test_a_words_decode_that_is_only_a_call_is_decoded_again_then_given_up():
    steering = reply.Steering(Request(system="", messages=SEEN, tools=[]), NAMES, [], steer.Plan())
    steering.state = replace(steering.state, mode="words")
    assert not steering.judge(AGAIN, "stop", 1) and steering.calls == []
    assert steering.judge(AGAIN, "stop", 2) and steering.calls == []
    assert steering.text.startswith("(stopped: the model kept repeating the call read")
