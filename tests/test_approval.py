"""Approval modes decide which commands and writes run without asking."""

from __future__ import annotations

import pytest

from agentcli.approval import Approval, is_read_only


@pytest.mark.parametrize("command", [
    "ls -la", "git status", "git diff HEAD~1 -- src", "cat a.txt | grep x | wc -l",
    "rg foo src && git log -3", "find . -name '*.py'", "echo hi > /dev/null",
])
def test_read_only_commands(command):
    assert is_read_only(command)


@pytest.mark.parametrize("command", [
    "rm -rf build", "echo hi > out.txt", "cat a >> b", "git commit -m x", "ls; rm x",
    "find . -delete", "echo $(rm x)", "python script.py", "sed -i s/a/b/ f",
])
def test_commands_that_may_change_things(command):
    assert not is_read_only(command)


def test_auto_allows_everything_readonly_allows_only_reads():
    auto, ro = Approval("auto"), Approval("readonly")
    assert auto("shell", "rm -rf build") and auto("write", "src/a.py")
    assert ro("shell", "git status")
    assert not ro("shell", "rm -rf build") and not ro("write", "src/a.py")


def test_ask_mode_asks_and_remembers_always():
    asked = []

    def ask(kind, detail):
        asked.append(detail)
        return {"pytest -q": "always", "rm -rf /tmp/x": "n"}.get(detail, "y")

    approval = Approval("ask", ask=ask)
    assert approval("shell", "pytest -q")
    assert approval("shell", "pytest tests/test_a.py")  # same program: remembered
    assert not approval("shell", "rm -rf /tmp/x")
    assert approval("shell", "git status")  # read-only: never asked
    assert asked == ["pytest -q", "rm -rf /tmp/x"]


def test_ask_mode_without_a_person_refuses():
    assert not Approval("ask")("shell", "make deploy")


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown approval mode"):
        Approval("sometimes")
