"""How the harness steers a small model, decided from the conversation (no model needed)."""

from __future__ import annotations

import json

import pytest

from agentcli.local import lean, steer
from agentcli.tools import load_spec
from agentcli.types import Message, ToolCall
from conversation import call as _call, turn as _turn

NAMES = {"read", "grep", "glob", "edit", "write", "shell"}


USER = Message(role="user", content="What is TIMEOUT_SECONDS in src/app.py?")


def test_first_turn_of_a_task_starts_with_a_call():
    assert steer.plan([USER], NAMES) == steer.Plan(force_call=True)
    assert steer.plan([USER], NAMES, ground_first=False) == steer.Plan()


def test_after_a_working_call_the_model_decodes_freely():
    msgs = [USER, *_turn(_call("read", {"path": "src/app.py"}))]
    assert steer.plan(msgs, NAMES) == steer.Plan()


def test_one_unusable_call_gets_the_opener_and_two_get_the_grammar():
    bad = _call("read", None, "b1")
    unknown = _call("TIMEOUT_SECONDS", {"value": 60}, "b2")
    once = [USER, *_turn(bad, "error: could not parse", True)]
    twice = once + _turn(unknown, "error: unknown tool", True)
    assert steer.plan(once, NAMES) == steer.Plan(force_call=True)
    assert steer.plan(twice, NAMES) == steer.Plan(force_call=True, grammar=True)
    # A new prompt starts afresh.
    assert steer.plan(twice + [Message(role="user", content="next")], NAMES) == \
        steer.Plan(force_call=True)


def test_a_repeated_call_is_recognised_whatever_the_key_order():
    msgs = [USER, *_turn(_call("grep", {"pattern": "x", "path": "src"}))]
    assert steer.repeats(_call("grep", {"path": "src", "pattern": "x"}, "c2"), msgs) == "ok"
    assert steer.repeats(_call("grep", {"pattern": "y", "path": "src"}, "c2"), msgs) is None
    failed = [USER, *_turn(_call("grep", {"pattern": "x", "path": "**/*.py"}), "error: no such file", True)]
    assert steer.repeats(_call("grep", {"pattern": "x", "path": "**/*.py"}, "c2"), failed) == "failed"
    nothing = [USER, *_turn(_call("grep", {"pattern": "x"}), "no matches for 'x'")]
    assert steer.repeats(_call("grep", {"pattern": "x"}, "c2"), nothing) == "failed"
    note = steer.failed_repeat_note(_call("grep", {"pattern": "x", "path": "**/*.py"}), failed)
    assert "no such file" in note and "different" in note and USER.content in note
    # Calls from an earlier task do not count.
    later = msgs + [Message(role="user", content="again please")]
    assert steer.repeats(_call("grep", {"pattern": "x", "path": "src"}, "c2"), later) is None


def test_repeat_notes_restate_the_task():
    note = steer.repeat_note(_call("read", {"path": "a.py"}), [USER])
    assert "read" in note and '"a.py"' in note and USER.content in note
    insist = steer.repeat_note(_call("read", {"path": "a.py"}), [USER], insist=True)
    assert "Do not call a tool" in insist and USER.content in insist


def test_an_answer_before_anything_worked_is_sent_back():
    msgs = [USER, *_turn(_call("read", {"path": "nope.py"}), "error: no such file", True)]
    assert "None of your tool calls has worked" in steer.answer_note(msgs, "An answer.")
    empty = [USER, *_turn(_call("grep", {"pattern": "port"}), "no matches for 'port'")]
    assert steer.answer_note(empty, "An answer.") is not None
    worked = [USER, *_turn(_call("read", {"path": "src/app.py"}), "4\tTIMEOUT_SECONDS = 37")]
    assert steer.answer_note(worked, "An answer.") is None


@pytest.mark.parametrize("prompt,call,note", [
    ("Fix the bug in stats.py.", ("read", {"path": "stats.py"}), True),
    ("Fix the bug in stats.py.", ("edit", {"path": "stats.py", "old": "a", "new": "b"}), False),
    ("Fix the bug in stats.py.", ("shell", {"command": "sed -i 's/a/b/' stats.py"}), False),
    ("Bump the version to 1.5.0.", ("shell", {"command": "grep -rn 1.4.2 ."}), True),
    ("Which file sets the port?", ("grep", {"pattern": "port"}), False),
    ("Can you update me on what main.py does?", ("read", {"path": "main.py"}), False),
])
def test_a_change_described_but_not_made_is_sent_back(prompt, call, note):
    msgs = [Message(role="user", content=prompt), *_turn(_call(*call), "done")]
    assert (steer.answer_note(msgs, "An answer.") is not None) is note


def test_an_edit_or_write_of_an_unread_file_becomes_a_read_of_it():
    edit = _call("edit", {"path": "./stats.py", "old": "x", "new": "y"}, "e1")
    sub = steer.read_first(edit, [USER])
    assert sub.name == "read" and sub.arguments == {"path": "./stats.py"} and sub.id == "e1"
    read_abs = _call("read", {"path": "/work/proj/stats.py"})
    assert steer.read_first(edit, [USER, *_turn(read_abs, "1\tx")]) is None
    missing = _call("read", {"path": "stats.py"})  # a read that failed still told it the truth
    assert steer.read_first(edit, [USER, *_turn(missing, "error: no such file", True)]) is None
    assert steer.read_first(_call("read", {"path": "a"}), [USER]) is None
    write = _call("write", {"path": "dates.py", "content": "def f(): ..."}, "w1")
    assert steer.read_first(write, [USER]).arguments == {"path": "dates.py"}
    failed_edit = _call("edit", {"path": "stats.py", "old": "zz", "new": "y"}, "e0")
    assert steer.read_first(edit, [USER, *_turn(failed_edit, "error: not found", True)]) is not None


def test_readers_are_listed_first_and_the_shell_last():
    specs = [load_spec(n) for n in ("shell", "grep", "glob", "read", "edit", "write")]
    assert [t.name for t in lean.order_tools(specs)] == ["read", "grep", "glob", "edit", "write",
                                                         "shell"]


def test_the_call_grammar_compiles_and_only_admits_known_tools():
    llama_cpp = pytest.importorskip("llama_cpp")
    specs = [load_spec(n) for n in NAMES]
    schema = lean.call_schema(specs, lean=True)
    assert {s["properties"]["name"]["const"] for s in schema["anyOf"]} == NAMES
    read = next(s for s in schema["anyOf"] if s["properties"]["name"]["const"] == "read")
    assert read["properties"]["arguments"]["required"] == ["path"]
    assert llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


def test_lean_schemas_keep_only_the_arguments_small_models_use_well():
    grep = load_spec("grep")
    assert set(grep.schema(lean=True)["properties"]) == {"pattern", "glob"}  # the whole project
    assert grep.schema(lean=False) == grep.parameters
    for name in NAMES:
        spec = load_spec(name)
        lean = spec.schema(lean=True)
        assert set(lean["required"]) == set(spec.parameters["required"])  # nothing required is hidden
        assert spec.lean_description and len(spec.lean_description) < len(spec.description)


def test_a_value_no_tool_result_shows_is_sent_back():
    grep = _call("grep", {"pattern": "port", "path": "app/server.py"})
    msgs = [Message(role="user", content="What port does the server use?"),
            *_turn(grep, "app/server.py:4: from config.settings import DEFAULT_PORT")]
    note = steer.answer_note(msgs, "The default port for the web server is 8080.")
    assert note is not None and "8080" in note and "grep for its name" in note
    read = _call("read", {"path": "config/settings.py"}, "c2")
    msgs += _turn(read, "3\tDEFAULT_PORT = 8042")
    assert steer.answer_note(msgs, "The default port is 8042.") is None
    # Small counts are not looked up anywhere; they are not flagged.
    assert steer.answer_note(msgs, "There are 7 Python files.") is None


def test_a_stuck_model_is_given_the_file_the_task_names():
    task = Message(role="user", content="Running `python3 main.py` crashes; see lib/cart.py too.")
    first = steer.read_mentioned([task])
    assert first.name == "read" and first.arguments == {"path": "main.py"}
    after = [task, *_turn(_call("read", {"path": "./main.py"}), "1\tfrom cart import Cart")]
    assert steer.read_mentioned(after).arguments == {"path": "lib/cart.py"}
    done = after + _turn(_call("read", {"path": "lib/cart.py"}, "c2"), "class Cart: ...")
    assert steer.read_mentioned(done) is None
    assert steer.read_mentioned([Message(role="user", content="Bump 1.4.2 to 1.5.0, e.g. here")]) is None


def test_an_empty_answer_in_the_middle_of_a_task_is_sent_back():
    msgs = [USER, *_turn(_call("read", {"path": "src/app.py"}), "4\tTIMEOUT_SECONDS = 37")]
    assert "empty" in steer.answer_note(msgs, "  ")
    assert steer.answer_note(msgs, "It is 37.") is None


def test_small_models_see_file_text_without_line_numbers_and_listings_with_counts():
    from agentcli.local.chat import lean_result

    assert lean_result("read", "     1\tdef f():\n     2\t    return 1") == "def f():\n    return 1"
    assert lean_result("glob", "a.py\nb/c.py") == "a.py\nb/c.py\n(2 files)"
    assert lean_result("grep", "a.py:1: x") == "a.py:1: x\n(1 matching line)"
    assert lean_result("grep", "no matches for 'x'") == "no matches for 'x'"
    assert lean_result("shell", "     1\tx") == "     1\tx"


def test_an_empty_write_over_a_file_it_read_is_refused_with_the_reason():
    read = _turn(_call("read", {"path": "stats.py"}, "r1"), "def mean(values): ...")
    empty = _call("write", {"path": "stats.py", "content": ""}, "w1")
    assert "would erase stats.py" in steer.refusal(empty, [USER, *read])
    assert steer.refusal(empty, [USER]) is None  # an empty new file (an __init__.py) is fine
    full = _call("write", {"path": "stats.py", "content": "x = 1\n"}, "w2")
    assert steer.refusal(full, [USER, *read]) is None


def test_a_stuck_model_with_no_file_named_reads_the_likeliest_one_from_the_outline():
    system = "You are...\n\n# Files in the project\napp/__init__.py\napp/server.py\nconfig/settings.py\n\n# Next"
    files = steer.outline_files(system)
    assert files == ["app/__init__.py", "app/server.py", "config/settings.py"]
    task = Message(role="user", content="What port does the web server listen on by default?")
    assert steer.read_mentioned([task], files).arguments == {"path": "app/server.py"}
    after = [task, *_turn(_call("read", {"path": "app/server.py"}), "from config.settings import X")]
    assert steer.read_mentioned(after, files) is None  # nothing else matches the task's words


def test_a_failed_read_of_the_named_file_does_not_count_as_having_read_it():
    """Seen with the 0.5B: it read the right file with a bad argument, then was handed another."""
    bad = _turn(_call("read", {"path": "src/app.py", "required": ["path"]}),
                "error: invalid arguments for read", is_error=True)
    files = ["src/app.py", "src/util.py"]
    assert steer.read_mentioned([USER, *bad], files).arguments == {"path": "src/app.py"}


def test_once_the_named_files_are_read_no_other_file_is_pushed_on_the_model():
    read = _turn(_call("read", {"path": "src/app.py"}), "4\tTIMEOUT_SECONDS = 37")
    assert steer.read_mentioned([USER, *read], ["src/app.py", "src/util.py"]) is None


def test_an_answer_of_only_brackets_counts_as_empty():
    msgs = [USER, *_turn(_call("read", {"path": "src/app.py"}), "4\tTIMEOUT_SECONDS = 37")]
    assert "empty" in steer.answer_note(msgs, "}")
    assert "empty" in steer.answer_note(msgs, "```\n]}")


def test_an_answer_after_a_change_that_failed_and_was_never_redone_is_sent_back():
    task = Message(role="user", content="Rename get_usr to get_user everywhere.")
    failed = _turn(_call("edit", {"path": "app.py", "old": "get_usr", "new": "get_user"}, "e1"),
                   "error: `old` appears 2 times in app.py; set replace_all to true", is_error=True)
    other = _turn(_call("edit", {"path": "report.py", "old": "get_usr", "new": "get_user"}, "e2"),
                  "edited report.py")
    note = steer.answer_note([task, *failed, *other], "Renamed in app.py and report.py.")
    assert "change to app.py failed" in note and "replace_all" in note
    redone = _turn(_call("edit", {"path": "app.py", "old": "get_usr", "new": "get_user",
                                  "replace_all": True}, "e3"), "edited app.py")
    assert steer.answer_note([task, *failed, *other, *redone], "Renamed in both.") is None


def test_a_question_is_no_change_request_whatever_verbs_it_holds():
    read = _turn(_call("read", {"path": "Makefile"}), "build: ...")
    for prompt in ("Explain what the `make` target does", "Show where we set the timeout",
                   "Which function should I change to add a user"):
        assert not steer.change_pending([Message(role="user", content=prompt), *read])
    assert steer.change_pending([Message(role="user", content="Set the timeout to 30"), *read])


def test_an_answer_naming_a_file_as_changed_that_no_edit_touched_goes_back():
    task = Message(role="user", content="Bump the version from 1.4.2 to 1.5.0 everywhere.")
    edit = _turn(_call("edit", {"path": "setup.cfg", "old": "1.4.2", "new": "1.5.0"}, "e1"),
                 "edited setup.cfg")
    note = steer.answer_note([task, *edit], "Updated setup.cfg and weatherlib/__init__.py to 1.5.0.")
    assert note and "names weatherlib/__init__.py as changed" in note and steer.wants_change(note)
    assert steer.answer_note([task, *edit], "Updated setup.cfg to 1.5.0.") is None
    question = Message(role="user", content="Which files hold the version?")
    assert steer.answer_note([question, *edit], "setup.cfg and weatherlib/__init__.py") is None


def test_a_read_that_found_no_file_is_not_forced_again():
    """Seen with the 1.5B: a path named in the task that does not exist was read six times."""
    task = Message(role="user", content="Fix the crash; the notes are in NOTES.md.")
    gone = _turn(_call("read", {"path": "NOTES.md"}), "error: no such file: NOTES.md", is_error=True)
    assert steer.read_mentioned([task, *gone]) is None


def test_after_a_compaction_the_task_is_the_verbatim_request_not_the_summary():
    head = ("[Context summary #1. It stands for events e000001–e000008 …]\n\n1. Goal: slugify\n\n"
            "## Library index (head of INDEX.md)\n- e000002 read text_utils.py\n\n"
            "## The user's latest request (verbatim, e000002)\nImplement `slugify` in text_utils.py.")
    msgs = [Message(role="user", content=head)]
    assert steer.task_text(msgs) == "Implement `slugify` in text_utils.py."
    assert steer.read_mentioned(msgs).arguments == {"path": "text_utils.py"}
    assert steer.task_text([Message(role="user", content=head.split("\n\n## The user")[0])]) == ""


def test_an_unreadable_call_stays_in_the_window_only_by_its_start():
    from agentcli.local.chat import BROKEN_SHOWN, to_template_messages

    raw = '{"name": "write", "arguments": {"path": "a.py", "content": """' + "x" * 5000
    broken = ToolCall("b1", "(unparsed)", None, raw, "invalid JSON")
    wire = to_template_messages("sys", [USER, *_turn(broken, "error: not JSON", is_error=True)])
    shown = wire[2]["content"]
    assert shown.startswith("<tool_call>\n" + raw[:50]) and shown.count("x") < BROKEN_SHOWN
    assert "…[cut]" in shown


def test_a_failed_edit_sent_again_gets_the_file_read_afresh_once():
    """Seen with the 1.5B: the same failing edit seven times, the file never looked at again."""
    task = Message(role="user", content="Fix the bug in stats.py.")
    edit = _call("edit", {"path": "stats.py", "old": "x - 1", "new": "x"}, "e1")
    failed = _turn(edit, "error: `old` was not found in stats.py", is_error=True)
    msgs = [task, *_turn(_call("read", {"path": "stats.py"}, "r1"), "x = 1"), *failed]
    again = _call("edit", {"path": "stats.py", "old": "x - 1", "new": "x"}, "e2")
    fresh = steer.reread(again, msgs)
    assert fresh.name == "read" and fresh.arguments == {"path": "stats.py"}
    msgs += _turn(fresh, "x = 1")
    assert steer.reread(again, msgs) is None  # it has the file as it is now
    assert steer.reread(_call("edit", {"path": "stats.py", "old": "y", "new": "z"}), msgs) is None


def test_a_file_the_task_says_to_leave_alone_is_not_changed():
    """Seen with the 1.5B: it rewrote test_stats.py although the task said not to."""
    task = Message(role="user", content="`python3 test_stats.py` fails. Fix stats.py. Do not change the test.")
    write = _call("write", {"path": "test_stats.py", "content": "print('ok')"})
    why = steer.refusal(write, [task])
    assert why.startswith('the task says "Do not change the test", so test_stats.py was left')
    assert steer.refusal(_call("edit", {"path": "tests/test_a.py", "old": "a", "new": "b"}), [task])
    assert steer.refusal(_call("edit", {"path": "stats.py", "old": "a", "new": "b"}), [task]) is None
    config = Message(role="user", content="Fix the crash without modifying config.json.")
    assert steer.refusal(_call("write", {"path": "./config.json", "content": "{}"}), [config])
    assert steer.refusal(write, [Message(role="user", content="Fix the tests.")]) is None


def test_the_fresh_read_for_a_repeated_failed_edit_comes_once_not_after_every_repeat():
    task = Message(role="user", content="Fix the bug in stats.py.")
    edit = lambda cid: _call("edit", {"path": "stats.py", "old": "x - 1", "new": "x"}, cid)  # noqa: E731
    msgs = [task, *_turn(edit("e1"), "error: `old` was not found", is_error=True),
            *_turn(_call("read", {"path": "stats.py"}, "r1"), "x = 1"),
            *_turn(edit("e2"), "error: `old` was not found", is_error=True)]
    assert steer.reread(edit("e3"), msgs) is None  # seen: edit, read, edit, read… for 12 turns


def test_a_refused_call_reads_as_refused_not_as_unparsable(workspace):
    from agentcli.tools import CORE_TOOLS, ToolBox, ToolContext, Workspace
    from agentcli.types import REFUSED

    box = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace)))
    result = box.dispatch(ToolCall("w", "write", None, "{}", REFUSED + "the task says to leave it"))
    assert result.is_error and result.content == "error: write was not run: the task says to leave it"


def test_a_reply_reciting_the_instructions_is_caught_but_the_file_list_may_be_repeated():
    from agentcli.local.chat import TURN_END, echoes, instructions

    system = ("<|im_start|>system\nYou are a coding agent. " + "Work one step at a time, one tool call per "
              "reply, then read its result. " * 3 + "\n\n# Files in the project\n" +
              "\n".join(f"src/module_{i}.py" for i in range(20)) + "\n\n# Tools\n{\"name\": \"read\"}")
    prompt = system + TURN_END + "<|im_start|>user\nhi" + TURN_END
    source = instructions(prompt)
    assert "module_3" not in source and "# Tools" in source
    recital = "To change a file: " + system[30:200]
    assert echoes(recital, source)
    listing = "The files are:\n" + "\n".join(f"src/module_{i}.py" for i in range(20))
    assert not echoes(listing, source) and not echoes("short answer", source)


def test_a_claimed_change_never_made_brings_the_file_back_once_instead_of_ending():
    task = Message(role="user", content="Bump the version from 1.4.2 to 1.5.0 everywhere it is written.")
    edit = _turn(_call("edit", {"path": "setup.cfg", "old": "1.4.2", "new": "1.5.0"}, "e1"), "edited setup.cfg")
    answer = "Updated to 1.5.0 in setup.cfg and weatherlib/__init__.py."
    again = steer.unchanged_target([task, *edit], answer)
    assert again.name == "read" and again.arguments == {"path": "weatherlib/__init__.py"}
    shown = [task, *edit, *_turn(again, '__version__ = "1.4.2"')]
    assert steer.unchanged_target(shown, answer) is None  # not twice in a row: the answer stands
    assert steer.unchanged_target([task, *edit], "Updated setup.cfg to 1.5.0.") is None


def test_a_stuck_model_that_read_the_named_file_is_given_the_file_it_refers_to():
    """The quickstart: report.py fails with KeyError 'temp'; the key is spelled in readings.json."""
    task = Message(role="user", content="`python3 report.py` crashes. Fix report.py.")
    read = _turn(_call("read", {"path": "report.py"}),
                 'def load(path="readings.json"):\n    return json.load(open(path))')
    files = ["report.py", "readings.json", "notes/todo.md"]
    lead = steer.read_mentioned([task, *read], files)
    assert lead.arguments == {"path": "readings.json"}
    both = [task, *read, *_turn(lead, '{"readings": [{"temp_c": 17.5}]}')]
    assert steer.read_mentioned(both, files) is None


def test_an_edit_sent_again_with_replace_all_flipped_is_a_repeat():
    task = Message(role="user", content="Fix report.py.")
    one = _call("edit", {"path": "report.py", "old": "a", "new": "a", "replace_all": False}, "e1")
    msgs = [task, *_turn(one, "error: `old` and `new` are the same", is_error=True)]
    flipped = _call("edit", {"path": "report.py", "old": "a", "new": "a", "replace_all": True}, "e2")
    assert steer.repeats(flipped, msgs) == "failed"


def test_a_how_many_question_answered_without_a_number_goes_back():
    """Seen with the 1.5B: "I used glob … then counted to get the total" and no total."""
    task = Message(role="user", content="How many Python files are there under src/? Answer with the number.")
    listing = _turn(_call("glob", {"pattern": "src/**/*.py"}), "src/a.py\nsrc/b.py")
    note = steer.answer_note([task, *listing], "I used glob and counted the files to get the total.")
    assert note.startswith("The task asks for a number, and your answer gives none")
    assert steer.answer_note([task, *listing], "There are 2 Python files under src/.") is None
    assert steer.answer_note([task, *listing], "There are two.") is None


def test_an_answer_copying_an_earlier_message_word_for_word_goes_back():
    """Seen with the 0.5B taking over mid-session: it answered "Searching." as the provider had."""
    grep = _call("grep", {"pattern": "TIMEOUT_SECONDS"}, "g1")
    said = [Message(role="assistant", content="Searching.", tool_calls=[grep]),
            Message(role="tool", content="src/app.py:4: TIMEOUT_SECONDS = 37", tool_call_id="g1", name="grep")]
    note = steer.answer_note([USER, *said], "Searching.")
    assert note.startswith("Your reply repeats an earlier message word for word ('Searching.')")
    assert steer.answer_note([USER, *said], "TIMEOUT_SECONDS is 37.") is None


def test_a_whole_file_write_that_drops_code_is_refused_unless_the_task_removes_something():
    app = 'from users import get_usr\n\ndef greet(i):\n    return get_usr(i)\n\nif __name__ == "__main__":\n    print(greet(1))\n'
    numbered = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(app.rstrip("\n").split("\n"), 1))
    read = _call("read", {"path": "app.py"}, "r1")
    short = 'from users import get_user\n\ndef greet(i):\n    return get_user(i)\n'
    write = _call("write", {"path": "app.py", "content": short}, "w1")
    rename = [Message(role="user", content="Rename get_usr to get_user everywhere"), *_turn(read, numbered)]
    assert "drop 1 top-level statement" in steer.refusal(write, rename)
    whole = _call("write", {"path": "app.py", "content": app.replace("get_usr", "get_user")}, "w2")
    assert steer.refusal(whole, rename) is None
    removal = [Message(role="user", content="Remove the __main__ block from app.py"), *_turn(read, numbered)]
    assert steer.refusal(write, removal) is None


def test_a_call_that_failed_twice_is_failed_again_and_the_reply_gives_up_on_the_last_try():
    grep = _call("grep", {"pattern": "nowhere"}, "g1")
    once = [USER, *_turn(grep, "no matches for 'nowhere'")]
    twice = once + _turn(_call("grep", {"pattern": "nowhere"}, "g2"), "no matches for 'nowhere'")
    assert steer.repeats(_call("grep", {"pattern": "nowhere"}, "g3"), once) == "failed"
    assert steer.repeats(_call("grep", {"pattern": "nowhere"}, "g3"), twice) == "failed again"


def test_an_outline_cut_short_is_known_to_be_incomplete(tmp_path):
    for i in range(5):
        (tmp_path / f"m{i}.py").write_text("x = 1\n")
    full = "You code.\n\n" + lean.outline(tmp_path)
    cut = "You code.\n\n" + lean.outline(tmp_path, max_files=3)
    assert steer.outline_complete(full) and steer.outline_files(full) == [f"m{i}.py" for i in range(5)]
    assert not steer.outline_complete(cut) and len(steer.outline_files(cut)) == 3
    assert not steer.outline_complete("You code.")


def test_change_requests_are_told_from_questions_by_their_verbs_and_form():
    from agentcli.local.task import is_change_request

    for request in ("Increase the timeout to 30 in app.py", "Enable verbose logging in config.ini",
                    "Disable the cache.", "Handle an empty list in mean()", "In config.json, turn debug "
                    "off and raise max_connections to 50.", "Correct the off-by-one in countdown.py"):
        assert is_change_request(request), request
    for request in ("What does `cost(1)` return?", "Which function calls `send_receipt`?",
                    "Does the cache get disabled anywhere?", "Explain how retries increase."):
        assert not is_change_request(request), request
