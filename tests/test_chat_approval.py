"""Approval in the chat: `ask` asks before commands that change things and before anything
outside the workspace; the answer reaches the model; `readonly` and `auto` do not ask."""

from __future__ import annotations

import os
import re

import pytest

from agentcli.sandbox import probe
from agentcli.testing.scripted_server import Turn
from chat_pty import open_chat_fixture

pytestmark = [pytest.mark.tty, pytest.mark.slow]

open_chat = pytest.fixture(open_chat_fixture)


def _answering_a_prompt(req) -> bool:
    """Whether the request ends in the user's prompt (not in tool results)."""
    content = req.messages[-1]["content"]
    return not (isinstance(content, list) and any(b.get("type") == "tool_result" for b in content))


def _shell_then_answer(*commands: str):
    turns = [Turn(tool_calls=[{"name": "shell", "arguments": {"command": c}}]) for c in commands]
    return turns + [Turn(text="Finished.")]


def test_ask_mode_asks_and_a_no_is_reported_to_the_model(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv)  # chat defaults to ask
    chat.line("make a file")
    chat.expect("Run this command?")
    chat.send("n")
    seen = chat.ready()
    assert "declined" in seen and "Finished." in seen
    assert not (workspace / "made-by-agent").exists()
    assert any("the user declined to run: touch made-by-agent" in r
               for r in srv.requests[-1].tool_results())


def test_yes_runs_the_command(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv)
    chat.line("make a file")
    chat.expect("Run this command?")
    chat.send("y")
    assert "exit 0" in chat.ready()
    assert (workspace / "made-by-agent").exists()


def test_always_remembers_the_program_for_the_session(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch one", "touch two"))
    chat = open_chat(srv)
    chat.line("make two files")
    chat.expect("always allow `touch`")
    chat.send("a")
    chat.ready()
    assert chat.text.count("Run this command?") == 1
    assert (workspace / "one").exists() and (workspace / "two").exists()


def test_read_only_commands_and_workspace_edits_run_without_asking(server, open_chat, workspace):
    srv = server([
        Turn(tool_calls=[{"name": "shell", "arguments": {"command": "ls src | wc -l"}}]),
        Turn(tool_calls=[{"name": "write", "arguments": {"path": "notes.txt", "content": "x\n"}}]),
        Turn(text="Done."),
    ])
    chat = open_chat(srv)
    chat.line("look and note")
    seen = chat.ready()
    assert "Run this command?" not in seen and "?  [y yes" not in seen
    assert (workspace / "notes.txt").read_text() == "x\n"


def test_a_write_outside_the_workspace_asks(server, open_chat, tmp_path):
    outside = tmp_path / "elsewhere" / "out.txt"

    def respond(req):  # each prompt: one write outside, then a short answer
        if _answering_a_prompt(req):
            return Turn(tool_calls=[{"name": "write",
                                     "arguments": {"path": str(outside), "content": "hi\n"}}])
        return Turn(text="Tried.")

    srv = server(respond)
    chat = open_chat(srv)
    chat.line("write outside")
    chat.expect("It is outside the workspace.")
    chat.send("n")
    chat.ready()
    assert not outside.exists()
    assert any("the user declined to write" in r for r in srv.requests[-1].tool_results())

    chat.line("try again")
    chat.expect("It is outside the workspace.")
    chat.send("y")
    chat.ready()
    assert outside.read_text() == "hi\n"


def test_readonly_refuses_writes_without_asking(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv, "--approval", "readonly")
    chat.line("make a file")
    seen = chat.ready()
    assert "Run this command?" not in seen
    assert not (workspace / "made-by-agent").exists()


def test_auto_runs_without_asking(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv, "--approval", "auto")
    chat.line("make a file")
    seen = chat.ready()
    assert "Run this command?" not in seen
    assert (workspace / "made-by-agent").exists()


def test_permissions_command_changes_the_mode(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv)
    chat.line("/permissions auto")
    assert "approval: auto" in chat.ready()
    chat.line("make a file")
    # The model's answer, then the prompt: a redraw of the empty prompt can come before the turn.
    assert "Run this command?" not in chat.expect("Finished.")
    chat.ready()
    assert (workspace / "made-by-agent").exists()
    chat.line("/permissions sometimes")
    assert "unknown mode 'sometimes'" in chat.ready()


def test_piped_answers_work_without_a_terminal(server, cli, workspace, tmp_path):
    srv = server(_shell_then_answer("touch made-by-agent"))
    proc = cli(srv, AGENTCLI_DATA_DIR=str(tmp_path / "data"))(
        "chat", "-C", str(workspace), "--model", "anthropic/m", input="make a file\nn\n")
    assert proc.returncode == 0, proc.stderr
    assert "Run this command?" in proc.stdout and "declined" in proc.stdout
    assert not (workspace / "made-by-agent").exists()


needs_bwrap = pytest.mark.skipif(probe()[0] is None, reason="no working bubblewrap")


def _outside_folder(tmp_path):
    folder = tmp_path / "elsewhere" / "myproj"
    folder.mkdir(parents=True)
    (folder / "scen.json").write_text('{"keep": true}\n')
    return folder


@needs_bwrap
def test_auto_runs_shell_in_the_sandbox_so_nothing_outside_changes(server, open_chat, workspace,
                                                                  tmp_path):
    outside = _outside_folder(tmp_path)
    srv = server(_shell_then_answer(f"rm -rf {outside}; echo hi > {outside.parent}/x; touch made"))
    chat = open_chat(srv, "--approval", "auto")
    chat.line("clean up")
    seen = chat.ready()
    assert "Run this command?" not in seen
    assert (outside / "scen.json").exists() and not (outside.parent / "x").exists()
    assert (workspace / "made").exists()  # the workspace itself is writable


def test_auto_without_a_sandbox_refuses_a_command_naming_a_path_outside(server, open_chat,
                                                                       workspace, tmp_path):
    outside = _outside_folder(tmp_path)
    bin_dir = tmp_path / "bin"  # bash, but no bwrap
    bin_dir.mkdir()
    os.symlink("/bin/bash", bin_dir / "bash")
    srv = server(_shell_then_answer(f"rm -rf {outside}", "echo x > made"))
    chat = open_chat(srv, "--approval", "auto", env={"PATH": str(bin_dir)})
    chat.line("clean up")
    seen = chat.ready()
    # Said once, as the chat opens or with the first answer (the session is built meanwhile).
    whole = chat.text
    assert whole.count("without a sandbox") == 1 and "bwrap is not installed" in whole
    assert (outside / "scen.json").exists() and (workspace / "made").exists()
    told = srv.requests[2].tool_results()[0]
    assert "not run: it names" in told and str(outside) in told and "declined" not in told
    chat.line("/clear")  # the notice is said once a chat, not again for the new session
    assert "without a sandbox" not in chat.ready()


def test_ask_asks_before_a_read_only_command_that_reads_outside(server, open_chat, tmp_path):
    outside = _outside_folder(tmp_path)
    srv = server(_shell_then_answer(f"cat /etc/hostname {outside}/scen.json | head -3", "ls src"))
    chat = open_chat(srv)
    chat.line("look around")
    chat.expect(f"outside the workspace: /etc/hostname, {outside}/scen.json")
    chat.expect("Run this command? It reaches outside the workspace.")
    chat.send("n")
    seen = chat.ready()
    assert "declined" in seen and "Run this command?" not in seen  # `ls src` did not ask
    assert "the user declined to run" in srv.requests[1].tool_results()[0]


def test_readonly_tells_the_model_it_is_the_mode_not_the_user(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv, "--approval", "readonly")
    chat.line("make a file")
    seen = chat.ready()
    # Run in a read-only sandbox, or not run where there is none: either way the mode says so.
    assert "approval is readonly" in seen and "declined" not in seen
    told = srv.requests[1].tool_results()[0]
    assert "approval is readonly" in told and "declined" not in told
    assert not (workspace / "made-by-agent").exists()


def test_a_tool_line_times_the_tool_not_the_wait_for_a_yes(server, open_chat, workspace):
    srv = server(_shell_then_answer("touch made-by-agent"))
    chat = open_chat(srv)
    chat.line("make a file")
    chat.expect("Run this command?")
    chat.settle(2.5)  # the user thinks it over
    chat.send("y")
    seen = chat.ready()
    assert "exit 0" in seen and not re.search(r"exit 0 · [1-9]\d*\.\ds", seen)
