"""A change a small model writes as a fenced code block, applied to the file it read."""

from __future__ import annotations

import ast
import json

from agentcli.local.runtime import Generation
from agentcli.models.base import Request
from agentcli.tools import load_spec

from agentcli.local import fenced
from agentcli.local.model import _HoldBackCalls
from agentcli.types import Message, ToolCall

SOURCE = '''"""Text helpers."""

import os


def slugify(title):
    """Turn a title into a slug."""
    raise NotImplementedError


@cached
def word_count(text):
    return len(text.split())


class Cart:
    def total(self):
        return 0
'''


def _read(path="text_utils.py", text=SOURCE, cid="r1", error=False):
    content = "error: no such file" if error else "\n".join(
        f"{n:>6}\t{line}" for n, line in enumerate(text.rstrip("\n").split("\n"), 1))
    call = ToolCall(cid, "read", {"path": path}, json.dumps({"path": path}))
    return [Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", content=content, tool_call_id=cid, name="read", is_error=error)]


TASK = Message(role="user", content="Implement slugify in text_utils.py as its docstring says.")


def test_a_function_in_a_code_block_replaces_its_namesake_in_the_file_read():
    reply = ("<tool_response>\n```python\nimport re\n\ndef slugify(title):\n"
             "    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')\n```\n")
    call = fenced.code_edit(reply.removeprefix("<tool_response>"), [TASK, *_read()])
    assert call.name == "write" and call.arguments["path"] == "text_utils.py"
    new = call.arguments["content"]
    ast.parse(new)
    assert "raise NotImplementedError" not in new and "re.sub(r'[^a-z0-9]+'" in new
    assert new.index("import os") < new.index("import re") < new.index("def slugify")
    assert "@cached\ndef word_count" in new and "class Cart" in new  # the rest is untouched


def test_a_decorated_function_is_replaced_with_its_decorators_and_a_new_one_is_added_at_the_end():
    reply = "```py\n@cached\ndef word_count(text):\n    return len(text.split()) + 0\n\n" \
            "def is_leap(y):\n    return y % 4 == 0\n```"
    new = fenced.code_edit(reply, [TASK, *_read()]).arguments["content"]
    assert new.count("@cached") == 1 and "len(text.split()) + 0" in new
    assert new.rstrip().endswith("return y % 4 == 0") and "\n\n\ndef is_leap" in new


def test_no_write_when_the_target_is_unclear_or_stale_or_not_read_whole():
    block = "```python\ndef slugify(title):\n    return title.lower()\n```"
    assert fenced.code_edit("no code here", [TASK, *_read()]) is None
    assert fenced.code_edit(block, [TASK]) is None  # nothing read
    assert fenced.code_edit(block, [TASK, *_read(error=True)]) is None
    method = "```python\ndef total(self):\n    return 1\n```"
    assert fenced.code_edit(method, [TASK, *_read()]) is None  # which class? a guess
    edited = ToolCall("e1", "edit", {"path": "text_utils.py", "old": "a", "new": "b"}, "{}")
    stale = [TASK, *_read(), Message(role="assistant", content="", tool_calls=[edited]),
             Message(role="tool", content="edited text_utils.py", tool_call_id="e1", name="edit")]
    assert fenced.code_edit(block, stale) is None
    cut = SOURCE + "\n".join(f"x{i} = {i}" for i in range(500))
    partial = _read(text=cut)
    partial[1].content = "\n".join(partial[1].content.split("\n")[:400]) + \
        "\n[lines 1-400 of 520; read on with offset=401]"
    assert fenced.code_edit(block, [TASK, *partial]) is None
    two = [TASK, *_read(), *_read("other.py", "x = 1\n", "r2")]
    new_only = "```python\ndef brand_new():\n    return 1\n```"
    assert fenced.code_edit(new_only, two) is None  # a new function, two files: which one?
    assert fenced.code_edit(block, two).arguments["path"] == "text_utils.py"


def test_streaming_stops_before_a_call_or_an_imagined_result_written_as_plain_tokens():
    for tag in ("<tool_call>", "<tool_response>"):
        shown: list[str] = []
        hold = _HoldBackCalls(shown.append)
        for piece in ["The fix", " is below.", "\n", "<", "tool", tag[5:-1], ">\n", "```python"]:
            hold(piece)
        assert "".join(shown) == "The fix is below.\n"
    shown = []
    hold = _HoldBackCalls(shown.append)
    for piece in ["a ", "<", "b> c"]:
        hold(piece)
    assert "".join(shown) == "a <b> c"


def _scripted_model():
    """A LocalModel with no GGUF behind it: tests script its `_decode`."""
    from agentcli.local.model import LocalModel

    class Plain:
        def render(self, system, messages, tools, lean, extra_user=None):
            return "prompt"

    model = object.__new__(LocalModel)
    model.name, model.ground_first, model._renderer = "local/test", True, Plain()
    return model


def test_the_local_model_turns_a_code_block_reply_into_the_write_when_a_change_is_asked(monkeypatch):
    """complete() with the decoder scripted: the 1.5B's own reply seen in bench task 04."""
    model = _scripted_model()
    replies = ["<tool_response>\n```python\ndef slugify(title):\n    return title.lower()\n```\n"]
    monkeypatch.setattr(model, "_decode", lambda *a, **k: Generation(replies.pop(0), [1], 10, 0,
                                                                     "stop", 0.0, 0.0))
    tools = [load_spec(n) for n in ("read", "edit", "write")]
    reply = model.complete(Request(system="s", messages=[TASK, *_read()], tools=tools))
    (call,) = reply.message.tool_calls
    assert call.name == "write" and "return title.lower()" in call.arguments["content"]
    assert reply.message.content == "" and reply.stop_reason == "tool_use"
    assert reply.window_tokens == 10  # the prompt as read once, not summed over attempts


def test_a_reply_decoded_several_times_reports_the_window_once(monkeypatch):
    """Usage sums every decode of a reply; the compaction check must see the prompt's size, or
    it compacts every turn (seen: 9,000 counted for a 2,600-token window)."""
    model = _scripted_model()
    # An empty answer mid-task goes back, so the reply takes more than one decode.
    replies = ["", "It says hello."]
    monkeypatch.setattr(model, "_decode", lambda *a, **k: Generation(
        replies.pop(0) if len(replies) > 1 else replies[0], [1], 2000, 1500, "stop", 0.0, 0.0))
    read = _read("notes.txt", "hello\n")
    reply = model.complete(Request(system="s", messages=[Message(role="user", content="What does notes.txt say?"), *read],
                                   tools=[load_spec("read")]))
    assert reply.usage.prompt_tokens >= 4000 and reply.window_tokens == 2000


def test_an_edit_whose_old_text_is_loose_but_whose_new_text_is_a_whole_function_is_applied():
    """Seen with the 1.5B: `old` without the docstring line, sent again and again."""
    stats = 'def mean(values):\n    """The mean."""\n    return sum(values) / (len(values) - 1)\n\n\n' \
            'def spread(values):\n    return max(values) - min(values)\n'
    task = Message(role="user", content="Fix the bug in stats.py.")
    edit = ToolCall("e1", "edit", {"path": "./stats.py", "old": "def mean(values):\n    return sum(values) / (len(values) - 1)",
                                  "new": "def mean(values):\n    return sum(values) / len(values)"}, "{}")
    write = fenced.def_edit(edit, [task, *_read("stats.py", stats)])
    assert write.name == "write" and write.id == "e1"
    assert write.arguments["content"] == ("def mean(values):\n    return sum(values) / len(values)\n\n\n"
                                          "def spread(values):\n    return max(values) - min(values)\n")
    exact = ToolCall("e2", "edit", {"path": "stats.py", "old": "(len(values) - 1)", "new": "len(values)"}, "{}")
    assert fenced.def_edit(exact, [task, *_read("stats.py", stats)]) is None  # the edit works as sent
    partial = ToolCall("e3", "edit", {"path": "stats.py", "old": "x", "new": "    return 1"}, "{}")
    assert fenced.def_edit(partial, [task, *_read("stats.py", stats)]) is None


def test_the_result_tag_copied_into_code_arguments_is_taken_off():
    call = ToolCall("w", "write", {"path": "a.py", "content": "<tool_response>x = 1\n</tool_response>"}, "{}")
    assert fenced.unwrap(call).arguments == {"path": "a.py", "content": "x = 1"}
    plain = ToolCall("w", "write", {"path": "a.py", "content": "x = 1\n"}, "{}")
    assert fenced.unwrap(plain) is plain


def test_a_write_that_would_not_parse_keeps_its_whole_definitions():
    """Seen with the 1.5B, five times in a row: the docstring's quotes garbled, the function fine."""
    dates = '"""Date helpers."""\n\nMONTH_DAYS = [31, 28]\n\n\ndef days_in_month(month):\n    return MONTH_DAYS[month - 1]\n'
    task = Message(role="user", content="Add a function `is_leap_year(year)` to dates.py.")
    garbled = ('""Date helpers.\n\nMONTH_DAYS = [31, 28]\n\n\ndef days_in_month(month):\n'
               '    return MONTH_DAYS[month - 1]\n\ndef is_leap_year(year):\n'
               '    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n""')
    call = ToolCall("w1", "write", {"path": "dates.py", "content": garbled}, "{}")
    fixed = fenced.def_write(call, [task, *_read("dates.py", dates)])
    assert fixed.id == "w1" and fixed.arguments["content"].startswith('"""Date helpers."""\n')
    assert fixed.arguments["content"].rstrip().endswith("return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)")
    ast.parse(fixed.arguments["content"])
    fine = ToolCall("w2", "write", {"path": "dates.py", "content": dates + "\nX = 1\n"}, "{}")
    assert fenced.def_write(fine, [task, *_read("dates.py", dates)]) is None  # it parses: as sent
    assert fenced.def_write(call, [task]) is None  # the file was not read: nothing to put it in


def test_good_code_in_a_call_that_is_not_json_is_applied_as_a_code_block():
    """Seen with the 1.5B: a write whose content held an unescaped docstring and HTML-ish tags."""
    dates = '"""Date helpers."""\n\n\ndef days_in_month(month):\n    return 30\n'
    task = Message(role="user", content="Add a function `is_leap_year(year)` to dates.py.")
    raw = ('{"name": "write", "arguments": {"path": "dates.py", "content": "<tool_response><code><python>\n'
           'def is_leap_year(year):\n    """Is `year` a leap year?"""\n    return year % 4 == 0\n</python></code>')
    call = fenced.loose_code_edit(raw, [task, *_read("dates.py", dates)])
    assert call.name == "write" and call.arguments["content"].endswith(
        "def is_leap_year(year):\n    \"\"\"Is `year` a leap year?\"\"\"\n    return year % 4 == 0\n")
    escaped = '{"name": "write", "arguments": {"content": "def is_leap_year(year):\\n    return True\\n'
    assert "def is_leap_year" in fenced.loose_code_edit(escaped, [task, *_read("dates.py", dates)]).arguments["content"]
    assert fenced.loose_code_edit('{"name": "read", "arguments": {"path": ', [task, *_read("dates.py", dates)]) is None


def test_an_edit_that_would_break_the_file_with_a_whole_new_function_adds_the_function():
    """Seen with the 1.5B: old="days_in_month(month)", new="def is_leap_year…" gives `def def`."""
    dates = '"""Date helpers."""\n\n\ndef days_in_month(month):\n    return 30\n'
    task = Message(role="user", content="Add a function `is_leap_year(year)` to dates.py.")
    edit = ToolCall("e1", "edit", {"path": "dates.py", "old": "days_in_month(month)",
                                  "new": "def is_leap_year(year):\n    return year % 4 == 0\n"}, "{}")
    write = fenced.def_edit(edit, [task, *_read("dates.py", dates)])
    assert write.arguments["content"] == dates + "\n\ndef is_leap_year(year):\n    return year % 4 == 0\n"
    rename = ToolCall("e2", "edit", {"path": "dates.py", "old": "def days_in_mnth(month):",
                                    "new": "def month_days(month):\n    return 30\n"}, "{}")
    assert fenced.def_edit(rename, [task, *_read("dates.py", dates)]) is None  # may be a rename


def test_a_good_call_next_to_a_broken_one_still_meets_the_harness_checks(monkeypatch):
    """Seen with the 1.5B: a write of the test it was told to leave alone ran unchecked because
    the same reply also held a call that did not parse."""
    model = _scripted_model()
    reply_text = ('<tool_call>\n{"name": "write", "arguments": {"path": "test_stats.py", "content": "x = 1\\n"}}\n'
                  '</tool_call>\n<tool_call>\n{"name": "write", "arguments": {"path": ')
    monkeypatch.setattr(model, "_decode", lambda *a, **k: Generation(reply_text, [1], 10, 0, "stop", 0.0, 0.0))
    task = Message(role="user", content="`python3 test_stats.py` fails. Fix stats.py. Do not change the test.")
    tools = [load_spec(n) for n in ("read", "edit", "write")]
    reply = model.complete(Request(system="s", messages=[task, *_read("test_stats.py", "x = 0\n")], tools=tools))
    (call,) = reply.message.tool_calls
    assert call.arguments is None and call.parse_error.startswith("refused: the task says")

