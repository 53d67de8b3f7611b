"""Code mode: a small model fixes a Python file by writing it again as code (local/codemode.py)."""

from __future__ import annotations

import json

from agentcli.local import codemode
from agentcli.local.runtime import Generation
from agentcli.models.base import Request
from agentcli.tools import load_spec
from agentcli.types import Message, ToolCall
from conversation import call, turn
from test_local_fenced import _scripted_model

STATS = '"""Stats."""\n\n\ndef mean(values):\n    return sum(values) / (len(values) - 1)\n\n\n' \
        'def spread(values):\n    return max(values) - min(values)\n'
TEST = "from stats import mean\n\nassert mean([2, 4, 6]) == 4\n"
FIX = Message(role="user", content="`python3 test_stats.py` fails. Fix the bug in stats.py. Do not change the test.")
TRACE = ('exit code: 1\nTraceback (most recent call last):\n  File "/w/test_stats.py", line 3, in '
         '<module>\n    assert mean([2, 4, 6]) == 4\nAssertionError: 6.0')


def _read(path, text, cid):
    content = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(text.rstrip("\n").split("\n"), 1))
    call = ToolCall(cid, "read", {"path": path}, json.dumps({"path": path}))
    return [Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", content=content, tool_call_id=cid, name="read")]


def _ran(cid, out, command="python3 test_stats.py"):
    call = ToolCall(cid, "shell", {"command": command}, "{}")
    return [Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", content=out, tool_call_id=cid, name="shell")]


PACKED = [FIX, *_ran("call_run_first", TRACE), *_read("test_stats.py", TEST, "call_pack_2_0"),
          *_read("stats.py", STATS, "call_pack_2_1")]


def test_the_file_to_fix_is_the_one_the_task_names_never_the_test():
    assert codemode.target(PACKED) == "stats.py"
    # Named nowhere: the deepest file of the traceback that is not a test.
    other = [Message(role="user", content="`python3 main.py` crashes. Fix it."),
             *_ran("call_run_first", 'exit code: 1\n  File "/w/main.py", line 6\n  File "/w/cart.py", '
                   'line 9\nAttributeError', "python3 main.py"),
             *_read("main.py", "from cart import Cart\n", "call_pack_2_0"),
             *_read("cart.py", "class Cart:\n    pass\n", "call_pack_2_1")]
    assert codemode.target(other) == "cart.py"


def test_code_mode_only_after_a_failing_check_shown_by_the_harness_or_an_edit_that_missed():
    passing = [FIX, *_ran("c0", "exit code: 0\nok"), *_read("stats.py", STATS, "c1"),
               *_ran("call_run_3", "exit code: 0\nok")]
    assert codemode.target(passing) is None
    # Run by the harness because the task says it fails: wrong output with exit code 0 is failing.
    early = [Message(role="user", content="`python3 count.py 3` stops early. Fix it."),
             *_ran("call_run_first", "exit code: 0\n3\n2", "python3 count.py 3"),
             *_read("count.py", "def count(n):\n    pass\n", "call_pack_2_0")]
    assert codemode.target(early) == "count.py"
    assert codemode.target([FIX, *_ran("call_run_first", TRACE)]) is None  # nothing read yet
    own_read = [FIX, *_ran("call_run_first", TRACE), *_read("stats.py", STATS, "c3")]
    assert codemode.target(own_read) is None
    bad = ToolCall("c7", "edit", {"path": "stats.py", "old": "assert mean", "new": "x"}, "{}")
    missed = [Message(role="assistant", content="", tool_calls=[bad]),
              Message(role="tool", content="error: `old` was not found in stats.py", tool_call_id="c7",
                      name="edit", is_error=True)]
    assert codemode.target([FIX, *_read("stats.py", STATS, "c1"), *missed]) == "stats.py"


def test_a_whole_file_replaces_it_and_a_partial_one_never_deletes_code():
    whole = "```python\nfrom stats import mean\n" + STATS.replace("(len(values) - 1)", "len(values)") + "```"
    call = codemode.write(whole, "stats.py", PACKED)
    assert call.arguments["content"].startswith('"""Stats."""')  # its own import dropped
    assert "/ len(values)" in call.arguments["content"] and "def spread" in call.arguments["content"]
    partial = "```python\ndef mean(values):\n    return sum(values) / len(values)\n```"
    content = codemode.write(partial, "stats.py", PACKED).arguments["content"]
    assert "/ len(values)" in content and "def spread" in content and '"""Stats."""' in content
    # The test's text written back, or no code at all: nothing to write.
    assert codemode.write("```python\n" + TEST + "```", "stats.py", PACKED) is None
    assert codemode.write("I would change the divisor.", "stats.py", PACKED) is None


def test_the_local_model_decodes_code_mode_from_the_python_fence_with_the_note(monkeypatch):
    model = _scripted_model()
    seen = []

    def decode(prompt, prefix, *a, **k):
        seen.append(prefix)
        plan = "The divisor in mean is one short.\n```python\n"
        return Generation(plan + STATS.replace("(len(values) - 1)", "len(values)") + "```\n", [1], 10, 0,
                          "stop", 0.0, 0.0)

    rendered = []
    model._renderer.render = lambda system, messages, tools, lean, extra_user=None: rendered.append(extra_user) or "p"
    monkeypatch.setattr(model, "_decode", decode)
    tools = [load_spec(n) for n in ("read", "edit", "write", "shell")]
    reply = model.complete(Request(system="s", messages=PACKED, tools=tools))
    (call,) = reply.message.tool_calls
    assert seen == [""] and "whole new stats.py" in rendered[0] and "First say in one sentence" in rendered[0]
    assert call.name == "write" and call.arguments["path"] == "stats.py"
    assert call.arguments["content"] == STATS.replace("(len(values) - 1)", "len(values)")


CART = ("class Cart:\n    def __init__(self):\n        self.items = []\n\n    def add(self, x):\n"
        "        self.items.append(x)\n\n    def total(self):\n        return sum(self.items) + 1\n")
SCRIPT = "import sys\n\nLIMIT = 3\nvalues = [1, 2, 3]\nprint(sum(values) / (len(values) - 1))\nsys.exit(0)\n"


def _task(path, text, request="`python3 main.py` crashes. Fix it."):
    return [Message(role="user", content=request),
            *_ran("call_run_first", 'exit code: 1\nTraceback (most recent call last):\n  File "/w/main.py", '
                  'line 5\nZeroDivisionError', "python3 main.py"),
            *_read(path, text, "call_pack_2_0")]


def test_a_reply_that_would_lose_code_or_was_cut_off_is_not_written():
    msgs = _task("cart.py", CART)
    partial_class = "```python\nclass Cart:\n    def total(self):\n        return sum(self.items)\n```"
    assert codemode.write(partial_class, "cart.py", msgs) is None  # __init__ and add would be gone
    snippet = "```python\nvalues = [1, 2, 3]\nprint(sum(values) / len(values))\n```"
    assert codemode.write(snippet, "main.py", _task("main.py", SCRIPT)) is None  # the rest of the script
    cut = "```python\n" + SCRIPT.replace("(len(values) - 1)", "len(values)")  # no closing fence
    assert codemode.write(cut, "main.py", _task("main.py", SCRIPT)) is None
    whole = cut + "```"
    assert "/ len(values)" in codemode.write(whole, "main.py", _task("main.py", SCRIPT)).arguments["content"]
    # Over a server the model was not asked for the whole file: only its definitions count.
    assert codemode.write(whole, "main.py", _task("main.py", SCRIPT), whole=False) is None


def test_no_code_mode_for_a_question_a_task_about_the_test_or_vendored_code():
    assert codemode.target(_task("main.py", SCRIPT)) == "main.py"
    assert codemode.target(_task("main.py", SCRIPT, "Why does `python3 main.py` crash?")) is None
    assert codemode.target(_task("main.py", SCRIPT), names={"read", "shell"}) is None  # cannot write
    about_test = _task("stats.py", STATS, "`python3 test_stats.py` fails: fix the test in test_stats.py.")
    assert codemode.target(about_test) is None
    vendored = _task(".venv/lib/site-packages/lib.py", SCRIPT)
    assert codemode.target(vendored) is None


def test_the_note_says_how_it_fails_and_when_a_change_did_not_help():
    first = codemode.note("stats.py", PACKED)
    assert "`python3 test_stats.py` still fails" in first and "AssertionError: 6.0" in first
    same = [*PACKED, *_read("stats.py", STATS, "c5")[:0],
            Message(role="assistant", content="", tool_calls=[ToolCall("c5", "write", {"path": "stats.py",
                                                                                   "content": STATS}, "{}")]),
            Message(role="tool", content="overwrote stats.py", tool_call_id="c5", name="write"),
            *_ran("call_run_9", TRACE)]
    assert codemode.note("stats.py", same).startswith("Your last change did not fix it")


def test_code_mode_right_after_the_harness_read_the_one_file_a_change_names():
    ask = Message(role="user", content="Implement the function `slugify` in text_utils.py as its docstring says.")
    packed = [ask, *_read("text_utils.py", STATS, "call_pack_1_0")]
    assert codemode.target(packed) == "text_utils.py"
    two = [Message(role="user", content="Move mean from stats.py to calc.py"),
           *_read("stats.py", STATS, "call_pack_1_0"), *_read("calc.py", STATS, "call_pack_1_1")]
    assert codemode.target(two) is None  # which file to write is the model's call
    question = [Message(role="user", content="What does text_utils.py do?"), *packed[1:]]
    assert codemode.target(question) is None


CONFIG = '{\n  "name": "svc",\n  "debug": true,\n  "max_connections": 10\n}\n'


def test_a_config_the_task_names_is_written_whole_when_it_parses_and_keeps_every_key():
    ask = Message(role="user", content="In config.json, turn debug off and raise max_connections to 50.")
    packed = [ask, *_read("config.json", CONFIG, "call_pack_1_0")]
    assert codemode.target(packed) == "config.json"
    assert "```json block" in codemode.note("config.json", packed)
    good = "```json\n" + CONFIG.replace("true", "false").replace("10", "50") + "```"
    assert codemode.write(good, "config.json", packed).arguments["content"] == \
        CONFIG.replace("true", "false").replace("10", "50")
    # A block with fewer keys never drops the others: it is merged into the file.
    partial = '```json\n{\n  "debug": false\n}\n```'
    assert json.loads(codemode.write(partial, "config.json", packed).arguments["content"]) == \
        {"name": "svc", "debug": False, "max_connections": 10}
    broken = '```json\n{\n  "debug": false,\n}\n```'
    assert codemode.write(broken, "config.json", packed) is None
    assert codemode.write(good, "config.json", packed, whole=False) is None  # not asked for it whole


def test_a_copy_of_the_file_is_no_change_and_the_note_restates_the_task():
    copy = "```python\n" + STATS.replace("\n\n\n", "\n\n") + "```"
    assert codemode.write(copy, "stats.py", PACKED) is None
    assert codemode.note("stats.py", PACKED).endswith("The task: " + FIX.content)


def test_a_file_the_task_asks_to_create_is_written_as_code_after_the_first_reads():
    from agentcli.local import pack

    request = ("Write a test file test_roman.py (unittest) for to_roman in roman.py. "
               "`python3 -m unittest test_roman` must pass. Don't change roman.py.")
    read = call("read", {"path": "roman.py"}, f"{pack.PREFIX}1_0")
    msgs = [Message(role="user", content=request), *turn(read, "     1\tdef to_roman(n):\n     2\t    return 'I' * n")]
    assert codemode.new_file(msgs, ["roman.py"]) == "test_roman.py"
    assert codemode.target(msgs) is None  # roman.py is the task's to leave alone
    assert codemode.new_file(msgs, ["roman.py", "test_roman.py"]) is None  # it exists: not new
    assert "whole of test_roman.py" in codemode.note("test_roman.py", msgs)
    reply = ("It tests to_roman.\n```python\nimport unittest\nfrom roman import to_roman\n\n\n"
             "class T(unittest.TestCase):\n    def test_one(self):\n        self.assertEqual(to_roman(1), 'I')\n```")
    made = codemode.write_new(reply, "test_roman.py", len(msgs))
    assert made.name == "write" and made.arguments["path"] == "test_roman.py"
    assert made.arguments["content"].startswith("import unittest\n") and made.arguments["content"].endswith("'I')\n")
    assert codemode.write_new("```python\ndef broken(:\n```", "test_roman.py", 3) is None
    assert codemode.write_new("```python\nimport unittest\n", "test_roman.py", 3) is None  # cut off
    # Once written, it is no longer new.
    wrote = call("write", {"path": "test_roman.py", "content": "x = 1\n"}, "c9")
    assert codemode.new_file(msgs + turn(wrote), ["roman.py"]) is None


def test_a_block_copied_with_the_read_results_line_numbers_is_the_code_without_them():
    from agentcli.local import fenced

    read = call("read", {"path": "config.json"}, "call_pack_1_0")
    original = '{\n  "debug": true,\n  "max_connections": 10\n}'
    shown = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(original.split("\n"), 1))
    msgs = [Message(role="user", content="In config.json, turn debug off and raise max_connections to 50."),
            *turn(read, shown)]
    copied = '```json\n     1\t{\n     2\t  "debug": false,\n     3\t  "max_connections": 50\n     4\t}\n```'
    made = codemode.write(copied, "config.json", msgs)
    assert made is not None and json.loads(made.arguments["content"]) == {"debug": False, "max_connections": 50}
    # Numbers that do not count up by one, or only on some lines, are the code's own.
    assert fenced.without_line_numbers("1\tx\n3\ty") == "1\tx\n3\ty"
    assert fenced.without_line_numbers("x = 1\n2\ty") == "x = 1\n2\ty"


def _packed(path: str, text: str, request: str) -> list[Message]:
    shown = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(text.rstrip("\n").split("\n"), 1))
    return [Message(role="user", content=request), *turn(call("read", {"path": path}, "call_pack_1_0"), shown)]


def test_a_block_with_only_the_table_that_changes_is_merged_into_the_toml_file():
    """What the 1.5B wrote for "raise ruff's line length to 100": the [tool.ruff] table alone."""
    pyproject = ('[project]\nname = "notes"\n\n# formatters\n[tool.black]\nline-length = 88\n\n'
                 '[tool.ruff]\nline-length = 88\ntarget-version = "py39"\n')
    msgs = _packed("pyproject.toml", pyproject, "Raise ruff's line length to 100 in pyproject.toml.")
    reply = 'Change it.\n```toml\n[tool.ruff]\nline-length = 100\ntarget-version = "py39"\n```'
    made = codemode.write(reply, "pyproject.toml", msgs)
    assert made.arguments["content"] == pyproject.replace('[tool.ruff]\nline-length = 88', '[tool.ruff]\nline-length = 100')
    # A table the file lacks matches nothing: no write.
    assert codemode.write("```toml\n[tool.isort]\nprofile = \"black\"\n```", "pyproject.toml", msgs) is None


def test_a_block_with_only_the_keys_that_change_is_merged_into_the_json_file():
    config = '{\n  "debug": true,\n  "db": {"host": "h", "port": 5432},\n  "max": 10\n}\n'
    msgs = _packed("config.json", config, "In config.json, turn debug off and set the db port to 6543.")
    made = codemode.write('```json\n{"debug": false, "db": {"port": 6543}}\n```', "config.json", msgs)
    assert json.loads(made.arguments["content"]) == {"debug": False, "db": {"host": "h", "port": 6543}, "max": 10}
    assert made.arguments["content"].startswith('{\n  "debug": false,')  # the file's indent


def test_a_json_block_written_without_its_nesting_goes_where_its_keys_are_or_nowhere():
    """The 1.5B, asked to enable the cache, wrote {"enabled": true, "ttl": 300} for the file's
    "cache" object; merged at the top it would have added two stray keys."""
    config = '{\n    "service": "pager",\n    "cache": {"enabled": false, "ttl": 60},\n    "retries": 3\n}\n'
    msgs = _packed("settings.json", config, "Enable the cache in settings.json and set its ttl to 300.")
    made = codemode.write('```json\n{"enabled": true, "ttl": 300}\n```', "settings.json", msgs)
    assert json.loads(made.arguments["content"]) == \
        {"service": "pager", "cache": {"enabled": True, "ttl": 300}, "retries": 3}
    assert codemode.write('```json\n{"colour": "red"}\n```', "settings.json", msgs) is None  # no such key
