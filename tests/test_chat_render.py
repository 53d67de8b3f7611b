"""The chat's rendering pieces on their own: markdown cut into finished blocks, diffs, tool
lines, the status line, slash-command parsing, approval outside the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from agentcli.approval import Approval
from agentcli.library.archive import Archive
from agentcli.tools import ToolError, Workspace
from agentcli.types import Message, ToolCall, ToolResult, Usage
from agentcli.ui import commands
from agentcli.ui.diff import diff_stats, render_diff
from agentcli.ui.history import recent_sessions, replay
from agentcli.ui.markdown_stream import MarkdownStream, safe_cut
from agentcli.ui.render import call_title, result_lines
from agentcli.ui.status import ago, tokens


def _plain_console(width: int = 100) -> Console:
    return Console(width=width, force_terminal=False, color_system=None, record=True)


@pytest.mark.parametrize("text,cut_before", [
    ("para one\n\npara two\n", "para two\n"),           # a finished paragraph is final
    ("para one\n\npara tw", None),                        # the next line is not complete yet
    ("```py\na = 1\n\nb = 2\n", None),                    # never inside a code fence
    ("```py\na = 1\n```\n\nafter\n", "after\n"),
    ("- one\n\n- two\n", None),                           # a loose list stays together
    ("intro\n\n    indented code\n", None),
    ("text\n\n```sh\nls\n", "```sh\nls\n"),               # a fence may start a new block
])
def test_safe_cut_only_at_finished_blocks(text, cut_before):
    cut = safe_cut(text)
    if cut_before is None:
        assert cut == 0
    else:
        assert text[cut:] == cut_before


def test_markdown_stream_prints_every_block_once_in_order():
    console = _plain_console()
    stream = MarkdownStream(console.print)
    answer = "# Title\n\nFirst paragraph.\n\n```python\nx = 1\n\ny = 2\n```\n\nLast **bold** words."
    for i in range(0, len(answer), 3):
        stream.feed(answer[i:i + 3])
    assert stream.finish() == answer
    out = console.export_text()
    for piece in ("Title", "First paragraph.", "x = 1", "y = 2", "Last bold words."):
        assert out.count(piece) == 1
    assert out.index("Title") < out.index("First") < out.index("x = 1") < out.index("Last")
    assert "**" not in out and "```" not in out


DIFF = """--- a/src/app.py
+++ b/src/app.py
@@ -2,3 +2,3 @@
     return 'hello'
 
-TIMEOUT_SECONDS = 37
+TIMEOUT_SECONDS = 60
"""


def test_diff_lines_carry_line_numbers_and_colours():
    text = render_diff(DIFF)
    lines = text.plain.splitlines()
    assert lines[-2].split() == ["4", "-", "TIMEOUT_SECONDS", "=", "37"]
    assert lines[-1].split() == ["4", "+", "TIMEOUT_SECONDS", "=", "60"]
    styles = {text.plain[s.start:s.end].strip(): str(s.style) for s in text.spans}
    assert styles["- TIMEOUT_SECONDS = 37"] == "red" and styles["+ TIMEOUT_SECONDS = 60"] == "green"
    assert diff_stats(DIFF) == (1, 1)


def test_a_long_diff_is_cut_and_says_how_much():
    body = "".join(f"+line {i}\n" for i in range(100))
    text = render_diff(f"--- a/x\n+++ b/x\n@@ -0,0 +1,100 @@\n{body}", max_lines=10)
    assert "line 9" in text.plain and "line 10\n" not in text.plain
    assert "90 more diff lines (+90 −0)" in text.plain


def test_tool_lines_say_what_ran_and_how_it_ended():
    call = ToolCall("1", "shell", {"command": "pytest -q\necho done"})
    assert call_title(call) == ("shell", "pytest -q …")
    result = ToolResult("exit code: 1\nstdout:\nF.\n1 failed\nstderr:\nwarn", meta={"exit_code": 1})
    text = result_lines(call, result, 2.5).plain
    assert text.splitlines()[0] == "  ⎿ exit 1 · 2.5s"
    assert "1 failed" in text and "warn" in text and "stdout:" not in text
    declined = ToolResult("error: the user declined to run: rm -rf x", is_error=True)
    assert "declined" in result_lines(call, declined, 0).plain
    assert call_title(ToolCall("2", "read", {"path": "a.py", "offset": 10, "limit": 5})) == ("read", "a.py:10-14")
    assert call_title(ToolCall("3", "grep", None))[1] == "(arguments did not parse)"


def test_status_numbers_read_short():
    assert [tokens(n) for n in (512, 1000, 1540, 200_000, 1_047_576)] == ["512", "1k", "1.5k", "200k", "1M"]
    assert ago(30) == "30s ago" and ago(600) == "10m ago" and ago(7200) == "2h ago"


def test_slash_commands_parse_but_paths_do_not():
    assert commands.parse("/model openai/gpt-5") == ("model", "openai/gpt-5")
    assert commands.parse("  /HELP ") == ("help", "")
    assert commands.parse("/compact keep the API notes\nand the plan") == \
        ("compact", "keep the API notes\nand the plan")
    assert commands.parse("/usr/bin/env is broken") is None
    assert commands.parse("what does /help do?") is None


def test_outside_the_workspace_ask_mode_asks_and_remembers_the_folder(tmp_path: Path):
    asked: list[tuple[str, str]] = []
    approval = Approval("ask", ask=lambda kind, detail: asked.append((kind, detail)) or "always")
    ws = Workspace(tmp_path / "ws", ask_outside=lambda verb, real: approval.outside(verb, str(real)))
    (tmp_path / "ws").mkdir()
    target = tmp_path / "other" / "a.txt"
    assert ws.resolve(str(target), write=True) == target
    assert ws.resolve(str(tmp_path / "other" / "deeper" / "b.txt"), write=True)
    assert asked == [("write_outside", str(target))]  # "always" covered the folder below


def test_outside_the_workspace_a_no_is_the_users_and_auto_never_asks(tmp_path: Path):
    (tmp_path / "ws").mkdir()
    no = Approval("ask", ask=lambda kind, detail: "n")
    ws = Workspace(tmp_path / "ws", ask_outside=lambda verb, real: no.outside(verb, str(real)))
    with pytest.raises(ToolError, match="the user declined to write"):
        ws.resolve(str(tmp_path / "x.txt"), write=True)
    asked = []
    auto = Approval("auto", ask=lambda kind, detail: asked.append(kind) or "y")
    ws = Workspace(tmp_path / "ws", ask_outside=lambda verb, real: auto.outside(verb, str(real)))
    with pytest.raises(ToolError, match="outside the workspace"):
        ws.resolve(str(tmp_path / "x.txt"), write=True)
    readonly = Approval("readonly", ask=lambda kind, detail: asked.append(kind) or "y")
    ws = Workspace(tmp_path / "ws", ask_outside=lambda verb, real: readonly.outside(verb, str(real)))
    with pytest.raises(ToolError, match="outside the workspace"):
        ws.resolve(str(tmp_path / "x.txt"), write=True)
    assert asked == []


def _archive_with_turns(path: Path, n: int) -> None:
    archive = Archive(path)
    archive.append("session_start", format=1, model="anthropic/m")
    for i in range(n):
        archive.append("user", message=Message("user", f"question {i}").to_dict())
        call = ToolCall(f"c{i}", "shell", {"command": f"echo {i}"})
        archive.append("assistant", message=Message("assistant", f"answer {i}", [call]).to_dict(),
                       usage=Usage().to_dict())
        archive.append("tool_result", message=Message("tool", f"exit code: 0\nstdout:\n{i}",
                                                      tool_call_id=f"c{i}", name="shell").to_dict(),
                       meta={"exit_code": 0}, elapsed_s=0.1)
    archive.close()


def test_replay_shows_the_last_turns_compactly(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    _archive_with_turns(path, 9)
    console = _plain_console()
    assert replay(console, Archive(path).events(), shown_turns=3) == (9, None)
    out = console.export_text()
    assert "6 earlier turns" in out
    assert "› question 8" in out and "answer 8" in out and "● shell  echo 8" in out and "exit 0" in out
    assert "question 5" not in out


def test_sessions_are_listed_newest_first_without_empty_ones(tmp_path: Path):
    from agentcli.library import Library

    library = Library(tmp_path / "lib")
    for sid, turns in (("20250101-100000-aaaa", 2), ("20250102-100000-bbbb", 1), ("20250103-100000-cccc", 0)):
        _archive_with_turns(library.session_dir(sid) / "events.jsonl", turns)
    rows = recent_sessions(library)
    assert [r["id"] for r in rows] == ["20250102-100000-bbbb", "20250101-100000-aaaa"]
    assert rows[1]["turns"] == 2 and rows[1]["first_request"] == "question 0"


def test_the_session_last_active_comes_first_not_the_one_started_last(tmp_path: Path):
    import os

    from agentcli.library import Library

    library = Library(tmp_path / "lib")
    old, new = "20250101-100000-aaaa", "20250102-100000-bbbb"
    for sid in (old, new):
        _archive_with_turns(library.session_dir(sid) / "events.jsonl", 1)
    # The older session was resumed and used after the newer one was left.
    os.utime(library.session_dir(new) / "events.jsonl", (1_000_000, 1_000_000))
    os.utime(library.session_dir(old) / "events.jsonl", (2_000_000, 2_000_000))
    assert [r["id"] for r in recent_sessions(library)] == [old, new]


def test_a_unique_start_of_a_command_runs_it_and_an_ambiguous_one_lists_them(monkeypatch):
    said: list[str] = []
    ran: list[str] = []

    class App:
        def say(self, text: str, style: str = "") -> None:
            said.append(text)

    monkeypatch.setattr(commands.COMMANDS["permissions"], "handler", lambda app, arg: ran.append(arg))
    commands.dispatch(App(), "perm", "auto")
    assert ran == ["auto"]
    commands.dispatch(App(), "c", "")
    assert said[-1] == "/c could be /compact, /cost, /context, /clear"
    commands.dispatch(App(), "modle", "")
    assert "did you mean /model?" in said[-1]


@pytest.mark.parametrize("data, draft, lines, rest", [
    ("/cost\r/model anthropic/x\r", "", ["/cost", "/model anthropic/x"], ""),
    ("/cost\n/model a\rhalf", "", ["/cost", "/model a"], "half"),
    ("two\x1b\rlines\r", "", ["two\nlines"], ""),
    ("ab\x7fc\x1b[Ad\r\r", "x", ["xacd"], ""),  # backspace edits, an arrow is dropped
    ("gone\x15kept\r", "", ["kept"], ""),
    ("line \\\rgoes on\r", "", ["line \ngoes on"], ""),
])
def test_type_ahead_splits_into_lines_in_order(data, draft, lines, rest):
    from agentcli.ui.input import split_typeahead

    assert split_typeahead(data, draft) == (lines, rest)
