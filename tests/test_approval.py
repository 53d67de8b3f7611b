"""Approval modes decide which commands and writes run without asking."""

from __future__ import annotations

import pytest

from agentcli.approval import Approval, Refused, is_read_only, outside_paths


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


def test_auto_allows_everything_readonly_writes_nothing():
    auto, ro = Approval("auto"), Approval("readonly", sealable=True)
    assert auto("shell", "rm -rf build") and auto("write", "src/a.py")
    # readonly runs any command, sealed: the sandbox mounts the workspace read-only.
    assert ro("shell", "git status") and ro("shell", "rg --pre rm zzz .") and ro.seals("shell")
    assert not auto.seals("shell") and not ro.seals("write")
    # Nobody said no: the model is told it is the mode, not "the user declined".
    with pytest.raises(Refused, match="not run: approval is readonly"):
        ro("write", "src/a.py")


def test_readonly_without_a_sandbox_runs_no_command_and_says_why_in_one_line():
    ro = Approval("readonly", sealable=False)
    for command in ("ls", "git status", "rg --pre rm zzz ."):
        with pytest.raises(Refused) as refused:
            ro("shell", command)
        assert "\n" not in str(refused.value) and "no sandbox (bubblewrap)" in str(refused.value)


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


def test_ask_mode_without_a_person_refuses_and_says_nobody_was_asked():
    with pytest.raises(Refused, match="no terminal to ask") as err:
        Approval("ask")("shell", "make deploy")
    assert "declined" not in str(err.value)


ROOT = "/work/project"


@pytest.mark.parametrize("command, named", [
    ("cat /etc/hostname /tmp/scen.json | head -3", ["/etc/hostname", "/tmp/scen.json"]),
    ("rm -rf /tmp/x/proj", ["/tmp/x/proj"]),
    ("echo hi >/tmp/x", ["/tmp/x"]),
    ("cd .. && ls", [".."]),
    ("cat ../other/secret", ["../other/secret"]),
    ("cat ~/.ssh/id_rsa", ["~/.ssh/id_rsa"]),
    ("rm -rf $HOME/x", ["$HOME/x"]),
    ("git -C /etc status", ["/etc"]),
    ("tool --out=/etc/x", ["/etc/x"]),
    # Inside, or not a path on this machine, or a system program: nothing outside.
    (f"ls {ROOT}/src", []), ("ls src/../docs", []), ("pytest -q 2>/dev/null", []),
    ("grep -rn '/api/v1' src", []), ("/usr/bin/env python3 x.py", []), ("sed -i s/a/b/ f", []),
])
def test_paths_outside_the_workspace_are_found_in_a_command(command, named):
    assert outside_paths(command, [ROOT]) == named


def test_ask_asks_before_a_read_only_command_that_reads_outside():
    asked = []
    approval = Approval("ask", ask=lambda kind, detail: asked.append((kind, detail)) or "n",
                        roots=[ROOT])
    assert approval("shell", "cat README.md")  # inside: read-only, never asked
    assert not approval("shell", "cat /etc/hostname")
    assert asked == [("shell_outside", "cat /etc/hostname")]


def test_always_for_a_program_does_not_cover_it_outside_the_workspace():
    asked = []
    approval = Approval("ask", ask=lambda kind, detail: asked.append(kind) or "always", roots=[ROOT])
    assert approval("shell", "rm -rf build")
    assert approval("shell", "rm -rf dist")  # "always allow rm" inside
    assert approval("shell", "rm -rf /tmp/x")  # ... but outside it asks again
    assert asked == ["shell", "shell_outside"]


def test_auto_refuses_outside_without_a_sandbox_and_leaves_it_to_the_sandbox():
    bare = Approval("auto", roots=[ROOT], sandboxed=False)
    with pytest.raises(Refused, match=r"names /tmp/x/proj, outside the workspace.*no sandbox"):
        bare("shell", "rm -rf /tmp/x/proj")
    assert bare("shell", "rm -rf build")
    assert Approval("auto", roots=[ROOT], sandboxed=True)("shell", "rm -rf /tmp/x/proj")
    assert Approval("auto", roots=[ROOT], sandboxed=False, allow_outside=True)("shell", "rm -rf /tmp/x")


def test_readonly_refuses_a_write_outside_and_asks_before_a_read_outside():
    asked = []
    ro = Approval("readonly", ask=lambda kind, detail: asked.append(kind) or "y", roots=[ROOT],
                  sealable=True)
    with pytest.raises(Refused, match="readonly"):
        ro("write", "/tmp/x/f")
    assert ro("shell", "cat /etc/hostname") and asked == ["shell_outside"]


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown approval mode"):
        Approval("sometimes")


def test_headless_ask_without_a_terminal_says_so_to_the_model(server, cli, workspace):
    from agentcli.testing.scripted_server import Turn

    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {"command": "touch made"}}]),
                  Turn(text="ok")])
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--approval", "ask")
    assert proc.returncode == 0, proc.stderr
    told = srv.requests[1].tool_results()[-1]
    assert "not run: approval is ask and this needs a yes, but there is no terminal" in told
    assert "declined" not in told and not (workspace / "made").exists()


@pytest.mark.parametrize("command", [
    "find . -name '*.pyc' -delete", "find . -ok rm {} ;", "find . -fprintf out %p",
    "env bash -c 'rm -rf x'", "env X=1 make install", "sort -o data.txt data.txt",
    "sort --output=data.txt data.txt", "tree -o listing.txt", "git branch -D main", "git branch new",
    "git diff --output=patch.diff",
])
def test_read_only_programs_that_write_given_these_arguments_are_not_read_only(command):
    from agentcli.approval import is_read_only

    assert not is_read_only(command)


@pytest.mark.parametrize("command", ["env", "find . -name '*.py'", "sort data.txt", "git branch -a",
                                     "git branch", "git diff HEAD~1", "tree src"])
def test_the_same_programs_reading_are_read_only(command):
    from agentcli.approval import is_read_only

    assert is_read_only(command)
