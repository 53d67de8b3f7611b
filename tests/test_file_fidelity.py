"""Attack 5 of issue 13 and its kin: `edit` and `write` keep every byte they were not asked to
change (text that is not UTF-8, CRLF line ends), the file's mode, and give a new file the mode
the umask says."""

from __future__ import annotations

import os
import stat

import pytest

from agentcli.tools import ToolContext, ToolError, Workspace
from agentcli.tools.files import edit, read, write


@pytest.fixture
def ctx(workspace):
    return ToolContext(Workspace(workspace))


def test_editing_a_latin1_file_keeps_the_bytes_that_are_not_utf8(ctx, workspace):
    path = workspace / "notes.txt"
    path.write_bytes(b"line one\ncaf\xe9 cr\xe8me\nline three\n")
    edit({"path": "notes.txt", "old": "line three", "new": "line 3"}, ctx)
    assert path.read_bytes() == b"line one\ncaf\xe9 cr\xe8me\nline 3\n"


def test_old_text_with_the_replacement_character_is_refused_in_one_line(ctx, workspace):
    path = workspace / "notes.txt"
    path.write_bytes(b"caf\xe9\n")
    shown = read({"path": "notes.txt"}, ctx).content
    assert "caf\ufffd" in shown  # what the model sees, and may copy
    with pytest.raises(ToolError) as refused:
        edit({"path": "notes.txt", "old": "caf\ufffd", "new": "cafe"}, ctx)
    assert "\n" not in str(refused.value) and "not UTF-8" in str(refused.value)
    assert path.read_bytes() == b"caf\xe9\n"


def test_crlf_line_ends_and_the_mode_survive_an_edit(ctx, workspace):
    path = workspace / "run.sh"
    path.write_bytes(b"#!/bin/sh\r\necho one\r\necho two\r\n")
    path.chmod(0o754)
    edit({"path": "run.sh", "old": "echo two", "new": "echo 2\necho 3"}, ctx)
    assert path.read_bytes() == b"#!/bin/sh\r\necho one\r\necho 2\r\necho 3\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o754


def test_overwriting_keeps_the_mode_and_line_ends(ctx, workspace):
    path = workspace / "tool.py"
    path.write_bytes(b"print(1)\r\n")
    path.chmod(0o700)
    write({"path": "tool.py", "content": "print(2)\nprint(3)\n"}, ctx)
    assert path.read_bytes() == b"print(2)\r\nprint(3)\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(ctx, workspace, umask):
    old = os.umask(umask)
    try:
        write({"path": f"new-{umask:o}.txt", "content": "hi\n"}, ctx)
    finally:
        os.umask(old)
    assert stat.S_IMODE((workspace / f"new-{umask:o}.txt").stat().st_mode) == 0o666 & ~umask


def test_a_lone_surrogate_in_new_text_is_refused_and_the_file_kept(ctx, workspace):
    path = workspace / "a.txt"
    path.write_text("keep\n")
    with pytest.raises(ToolError, match="lone surrogate"):
        write({"path": "a.txt", "content": "bad \ud800\n"}, ctx)
    assert path.read_text() == "keep\n"
