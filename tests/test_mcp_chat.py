"""A chat asks once whether to trust a workspace's .mcp.json, before any of its servers start."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn
from chat_pty import CTRL_D, open_chat_fixture

pytestmark = [pytest.mark.tty, pytest.mark.slow]

open_chat = pytest.fixture(open_chat_fixture)
PROBE = str(Path(__file__).parent / "mcp_servers" / "probe.py")
QUESTION = "Trust it and start them? [y/N]"


def _workspace_server(workspace: Path, started: Path) -> None:
    (workspace / ".mcp.json").write_text(json.dumps({"mcpServers": {"probe": {
        "command": sys.executable, "args": [PROBE, "--started", str(started)]}}}))


@pytest.mark.parametrize("answer", ["y", "n"])
def test_chat_asks_once_and_remembers_the_answer(server, open_chat, workspace, tmp_path, answer):
    started = tmp_path / "started.txt"
    _workspace_server(workspace, started)
    srv = server([Turn(text="hello")])
    chat = open_chat(srv, wait_ready=False)
    chat.expect("starts programs: probe. " + QUESTION)
    assert not started.exists()  # nothing runs before the answer
    chat.send(answer + "\r")
    chat.ready()
    chat.line("hi")  # waits for the session (and its servers) to be up
    assert "hello" in chat.ready()
    chat.send(CTRL_D)
    assert chat.exit_code() == 0
    assert started.exists() == (answer == "y")
    again = open_chat(srv)  # the same file: no second question
    assert QUESTION not in again.text
    again.line("hi")
    assert "hello" in again.ready()
    again.send(CTRL_D)
    assert again.exit_code() == 0
    assert started.exists() == (answer == "y")
    if answer == "y":
        assert len(started.read_text().splitlines()) == 2
