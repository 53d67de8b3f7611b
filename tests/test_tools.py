"""Each tool's behaviour at its edges, through the same dispatcher the loop uses."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agentcli.tools import CORE_TOOLS, ToolBox, ToolContext, Workspace
from agentcli.types import ToolCall


@pytest.fixture
def box(workspace: Path) -> ToolBox:
    return ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace)))


def call(box: ToolBox, name: str, **args):
    return box.dispatch(ToolCall(id="t1", name=name, arguments=args))


# -- shell --------------------------------------------------------------------------------------

def test_shell_reports_exit_code_stdout_and_stderr(box):
    r = call(box, "shell", command="echo out; echo err >&2; exit 3")
    assert not r.is_error
    assert r.content.splitlines()[0] == "exit code: 3"
    assert "stdout:\nout" in r.content and "stderr:\nerr" in r.content
    assert r.meta["exit_code"] == 3


def test_shell_runs_in_the_workspace(box, workspace):
    r = call(box, "shell", command="pwd")
    assert os.path.realpath(workspace) in r.content


def test_shell_timeout_kills_the_whole_process_group(box, tmp_path):
    marker = tmp_path / "child-survived"
    started = time.monotonic()
    r = call(box, "shell", command=f"(sleep 3; touch {marker}) & sleep 30", timeout=1)
    assert time.monotonic() - started < 10
    assert r.is_error and "timed out after 1s" in r.content
    time.sleep(3.5)
    assert not marker.exists(), "a background child outlived the timeout"


def test_shell_caps_huge_output_and_says_how_much_was_cut(box):
    r = call(box, "shell", command="seq 1 200000")
    assert len(r.content) < 40_000
    assert "lines," in r.content and "characters cut" in r.content
    assert "\n1\n" in r.content and r.content.rstrip().endswith("200000")


def test_shell_handles_binary_and_invalid_utf8_output(box):
    r = call(box, "shell", command="printf '\\xff\\xfe\\x00abc'")
    assert "abc" in r.content and not r.is_error


def test_shell_without_output_says_so(box):
    assert "(no output)" in call(box, "shell", command="true").content


# -- grep and glob ------------------------------------------------------------------------------

def test_grep_finds_lines_with_paths_and_numbers(box):
    r = call(box, "grep", pattern="TIMEOUT_SECONDS")
    assert r.content == "src/app.py:4: TIMEOUT_SECONDS = 37"


def test_grep_is_smart_case_unless_told(box):
    """A lowercase word finds it in any case (how people search); a capital, or ignore_case=false,
    means exactly that case."""
    assert "TIMEOUT_SECONDS = 37" in call(box, "grep", pattern="timeout").content
    assert call(box, "grep", pattern="Timeout").content.startswith("no matches")
    assert call(box, "grep", pattern="timeout", ignore_case=False).content.startswith("no matches")
    assert "TIMEOUT_SECONDS" in call(box, "grep", pattern="Timeout", ignore_case=True).content


def test_grep_no_match_is_not_an_error(box):
    r = call(box, "grep", pattern="NOT_ANYWHERE_AT_ALL")
    assert not r.is_error and "no matches" in r.content


def test_grep_caps_results_and_counts_the_rest(box, workspace):
    (workspace / "many.txt").write_text("".join(f"hit {i}\n" for i in range(500)))
    r = call(box, "grep", pattern="hit", max_results=10)
    lines = r.content.splitlines()
    assert len(lines) == 11 and "490 more matching lines not shown" in lines[-1]


def test_grep_respects_gitignore_and_skips_binary_files(box, workspace):
    (workspace / ".gitignore").write_text("ignored/\n")
    (workspace / "ignored").mkdir()
    (workspace / "ignored" / "x.txt").write_text("NEEDLE\n")
    (workspace / "blob.bin").write_bytes(b"\x00\x01NEEDLE\x00")
    (workspace / "kept.txt").write_text("NEEDLE\n")
    r = call(box, "grep", pattern="NEEDLE")
    assert r.content == "kept.txt:1: NEEDLE"


def test_grep_unicode_paths_with_spaces_context_and_case(box, workspace):
    (workspace / "dir with space").mkdir()
    (workspace / "dir with space" / "naïve café.txt").write_text("zero\nΣίσυφος Stone\nthree\n")
    r = call(box, "grep", pattern="stone", ignore_case=True, context=1)
    assert "dir with space/naïve café.txt:2: Σίσυφος Stone" in r.content
    assert "dir with space/naïve café.txt-1- zero" in r.content


def test_grep_with_glob_and_path(box, workspace):
    r = call(box, "grep", pattern="def", glob="util*", path="src")
    assert r.content == "src/util.py:1: def add(a, b):"


def test_grep_with_an_invalid_regex_searches_the_literal_text_and_says_so(box, workspace):
    (workspace / "calls.py").write_text("print(add(1, 2))\n")
    r = call(box, "grep", pattern="add(1")
    assert not r.is_error
    assert r.content.splitlines() == [
        "[invalid regular expression (unclosed group); searched for the literal text instead]",
        "calls.py:1: print(add(1, 2))"]


def test_glob_lists_matching_files(box):
    r = call(box, "glob", pattern="**/*.py")
    assert r.content.splitlines() == ["src/app.py", "src/util.py"]
    assert "no files match" in call(box, "glob", pattern="*.rs").content


# -- read ---------------------------------------------------------------------------------------

def test_read_numbers_lines_and_pages_with_offset(box, workspace):
    (workspace / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    r = call(box, "read", path="long.txt", offset=10, limit=5)
    lines = r.content.splitlines()
    assert lines[0] == "    10\tline 10" and lines[4] == "    14\tline 14"
    assert "read on with offset=15" in lines[-1]


def test_read_refuses_binary_and_missing_files_clearly(box, workspace):
    (workspace / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    r = call(box, "read", path="img.png")
    assert r.is_error and "binary file" in r.content
    r = call(box, "read", path="nope.txt")
    assert r.is_error and "no such file: nope.txt" in r.content
    r = call(box, "read", path="src")
    assert r.is_error and "is a folder" in r.content


def test_read_cuts_very_long_lines(box, workspace):
    (workspace / "min.js").write_text("x" * 50_000 + "\n")
    r = call(box, "read", path="min.js")
    assert len(r.content) < 3000 and "characters cut" in r.content


def test_read_empty_file(box, workspace):
    (workspace / "empty.txt").write_text("")
    assert call(box, "read", path="empty.txt").content == "(empty file)"


# -- edit and write -----------------------------------------------------------------------------

def test_edit_replaces_a_unique_match_and_returns_a_diff(box, workspace):
    r = call(box, "edit", path="src/util.py", old="a + b", new="a + b + 0")
    assert not r.is_error and "edited src/util.py" in r.content
    assert (workspace / "src" / "util.py").read_text() == "def add(a, b):\n    return a + b + 0\n"
    assert "-    return a + b\n+    return a + b + 0" in r.meta["diff"]


def test_edit_fails_clearly_when_old_is_absent_or_ambiguous(box, workspace):
    r = call(box, "edit", path="src/util.py", old="return a - b", new="x")
    assert r.is_error and "was not found" in r.content
    (workspace / "dup.txt").write_text("same\nsame\n")
    r = call(box, "edit", path="dup.txt", old="same", new="other")
    assert r.is_error and "appears 2 times" in r.content
    assert (workspace / "dup.txt").read_text() == "same\nsame\n"
    r = call(box, "edit", path="dup.txt", old="same", new="other", replace_all=True)
    assert not r.is_error and (workspace / "dup.txt").read_text() == "other\nother\n"


def test_edit_keeps_the_file_mode(box, workspace):
    script = workspace / "run.sh"
    script.write_text("echo one\n")
    script.chmod(0o755)
    call(box, "edit", path="run.sh", old="one", new="two")
    assert script.stat().st_mode & 0o777 == 0o755


def test_write_creates_parents_and_overwrites(box, workspace):
    r = call(box, "write", path="new dir/ünï.txt", content="héllo\n")
    assert not r.is_error and "created new dir/ünï.txt" in r.content
    assert (workspace / "new dir" / "ünï.txt").read_text() == "héllo\n"
    r = call(box, "write", path="new dir/ünï.txt", content="bye\n")
    assert "overwrote" in r.content and "-héllo\n+bye" in r.meta["diff"]


# -- the workspace boundary ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "src/../../outside.txt"])
def test_paths_outside_the_workspace_are_refused(box, path):
    for name, args in (("read", {}), ("write", {"content": "x"})):
        r = call(box, name, path=path, **args)
        assert r.is_error and "outside the workspace" in r.content


def test_a_symlink_pointing_outside_is_outside(box, workspace, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (workspace / "link.txt").symlink_to(secret)
    r = call(box, "read", path="link.txt")
    assert r.is_error and "outside the workspace" in r.content
    r = call(box, "write", path="link.txt", content="overwrite")
    assert r.is_error and secret.read_text() == "top secret"


def test_allow_outside_and_extra_dirs_open_the_boundary(workspace, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("shared notes\n")
    extra = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace, extra_roots=[other])))
    assert "shared notes" in call(extra, "read", path=str(other / "notes.txt")).content
    anywhere = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace, allow_outside=True)))
    assert "shared notes" in call(anywhere, "read", path=str(other / "notes.txt")).content


def test_nul_bytes_in_paths_and_commands_are_refused(box):
    assert "NUL byte" in call(box, "read", path="src/app.py\x00.txt").content
    assert "NUL byte" in call(box, "shell", command="echo a\x00b").content


def test_a_crash_inside_a_tool_becomes_an_error_result(box, monkeypatch):
    import agentcli.tools.files as files

    def boom(args, ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(files, "read", boom)
    r = call(box, "read", path="src/app.py")
    assert r.is_error and "RuntimeError: disk on fire" in r.content


def test_edit_and_write_keep_crlf_line_endings(box, workspace):
    win = workspace / "win.py"
    win.write_bytes(b"a = 1\r\nb = 2\r\nc = 3\r\n")
    shown = call(box, "read", path="win.py").content
    assert "\r" not in shown  # what the model copies `old` from
    r = call(box, "edit", path="win.py", old="a = 1\nb = 2", new="a = 10\nb = 20\nb2 = 21")
    assert not r.is_error, r.content
    assert win.read_bytes() == b"a = 10\r\nb = 20\r\nb2 = 21\r\nc = 3\r\n"
    call(box, "write", path="win.py", content="x = 1\ny = 2\n")
    assert win.read_bytes() == b"x = 1\r\ny = 2\r\n"


def test_schema_words_copied_into_a_call_are_dropped_but_real_unknown_arguments_are_not():
    from agentcli.tools.schema import SchemaError, validate

    schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    assert validate({"path": "a.py", "required": ["path"], "type": "object"}, schema) == {"path": "a.py"}
    with pytest.raises(SchemaError, match="unexpected argument"):
        validate({"path": "a.py", "mode": "fast"}, schema)


def test_grep_for_a_phrase_that_is_not_there_shows_lines_with_its_words(box):
    """Models search for the words of a question; code holds the words, not the sentence."""
    r = call(box, "grep", pattern="what is the timeout in seconds")
    assert not r.is_error and r.content.startswith("no matches for 'what is the timeout in seconds'")
    assert "lines with any of the words timeout, seconds" in r.content
    assert "src/app.py:4: TIMEOUT_SECONDS = 37" in r.content
    assert "any of the words" not in call(box, "grep", pattern="zzz_nothing").content
    assert "any of the words" not in call(box, "grep", pattern=r"def (\w+) timeout").content
    assert "any of the words" not in call(box, "grep", pattern="nothing here either").content


# -- parse checks after edit/write ----------------------------------------------------------------

def test_a_change_that_breaks_python_is_written_with_a_warning_saying_where(box, workspace):
    (workspace / "m.py").write_text("def f():\n    return 1\n")
    r = call(box, "edit", path="m.py", old="return 1", new="return (1")
    assert not r.is_error and "warning: m.py no longer parses (SyntaxError line 2" in r.content
    assert (workspace / "m.py").read_text() == "def f():\n    return (1\n"
    r = call(box, "edit", path="m.py", old="return (1", new="return (2")  # already broken: no nagging
    assert not r.is_error and "warning" not in r.content


def test_for_a_small_model_a_change_that_breaks_python_or_json_is_refused(workspace):
    lean = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace), lean=True))
    (workspace / "m.py").write_text('def f():\n    """Doc."""\n    return 1\n')
    r = call(lean, "write", path="m.py", content='def f():\n    """Doc.\n    return 2\n')
    assert r.is_error and "not written" in r.content and "unterminated triple-quoted" in r.content
    r = call(lean, "edit", path="m.py", old="return 1", new="return 1 +")
    assert r.is_error and "SyntaxError line 3" in r.content and "unchanged" in r.content
    assert (workspace / "m.py").read_text() == 'def f():\n    """Doc."""\n    return 1\n'
    (workspace / "c.json").write_text('{"debug": true, "max": 10}\n')
    r = call(lean, "edit", path="c.json", old="true,", new="false")
    assert r.is_error and "invalid JSON" in r.content
    assert not call(lean, "edit", path="c.json", old="true", new="false").is_error
    assert not call(lean, "write", path="new.py", content="x = 1\n").is_error
    assert call(lean, "write", path="bad.py", content="x = (\n").is_error
    assert not call(lean, "write", path="notes.txt", content="x = (\n").is_error


def test_for_a_small_model_a_docstring_cut_to_two_quotes_is_mended_only_when_that_is_safe(workspace):
    lean = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace), lean=True))
    r = call(lean, "write", path="d.py", content='""Date helpers.""\n\n\ndef f():\n    ""Doc.""\n    return ""\n')
    assert not r.is_error
    assert (workspace / "d.py").read_text() == '"""Date helpers."""\n\n\ndef f():\n    """Doc."""\n    return ""\n'
    # Seen with the 1.5B: mending these quotes would make the whole file one string.
    r = call(lean, "write", path="e.py", content='""Date helpers.\n\ndef f():\n    return 1\n""')
    assert r.is_error and not (workspace / "e.py").exists()
