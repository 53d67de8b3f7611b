"""`shell` under bubblewrap: the workspace writable, everything else read-only, no network; on by
default in headless runs where bwrap works, and a one-line message where it does not."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from agentcli.sandbox import Sandbox, SandboxError, choose, probe
from agentcli.testing.scripted_server import Turn
from agentcli.tools import Workspace

BWRAP, WHY_NOT = probe()
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason=f"no working bubblewrap: {WHY_NOT}")


def _run(box: Sandbox, ws: Workspace, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(box.wrap(["bash", "-c", script], ws), cwd=ws.root, capture_output=True,
                          text=True, timeout=30)


@needs_bwrap
def test_workspace_is_writable_and_everything_else_read_only(tmp_path, workspace):
    outside = tmp_path / "outside"
    outside.mkdir()
    library = workspace / ".agentcli"
    library.mkdir()
    ws = Workspace(workspace, protected=[library])
    proc = _run(Sandbox(BWRAP), ws, f"""
        echo made > new.txt && echo ok-inside
        echo x > {outside}/escape.txt || echo refused-outside
        echo x > {library}/forged.jsonl || echo refused-library
        touch /etc/agentcli-test || echo refused-etc
        echo scratch > /tmp/scratch && cat /tmp/scratch
        pwd""")
    out = proc.stdout.split()
    assert out == ["ok-inside", "refused-outside", "refused-library", "refused-etc", "scratch",
                   str(ws.root)]
    assert "Read-only file system" in proc.stderr
    assert (workspace / "new.txt").read_text() == "made\n"
    assert not (outside / "escape.txt").exists() and not (library / "forged.jsonl").exists()
    assert not (tmp_path / "scratch").exists()


@needs_bwrap
def test_added_folders_are_writable_too(tmp_path, workspace):
    extra = tmp_path / "extra"
    extra.mkdir()
    proc = _run(Sandbox(BWRAP), Workspace(workspace, extra_roots=[extra]), f"echo y > {extra}/f")
    assert proc.returncode == 0, proc.stderr
    assert (extra / "f").read_text() == "y\n"


@needs_bwrap
def test_no_network_not_even_to_the_hosts_loopback(workspace):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        probe_script = (f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 3)\""
                        " && echo connected || echo blocked")
        ws = Workspace(workspace)
        assert _run(Sandbox(BWRAP), ws, probe_script).stdout.strip() == "blocked"
        # The same command outside the sandbox reaches it, so the sandbox is what blocked it.
        direct = subprocess.run(["bash", "-c", probe_script], capture_output=True, text=True,
                                timeout=30)
        assert direct.stdout.strip() == "connected"
    finally:
        listener.close()


def _escape_attempt(outside):
    return [Turn(tool_calls=[{"name": "shell", "arguments": {
        "command": f"echo in > inside.txt; echo out > {outside}/escaped.txt; echo done"}}]),
        Turn(text="tried")]


@needs_bwrap
def test_headless_runs_are_sandboxed_by_default(server, cli, workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    srv = server(_escape_attempt(outside))
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0, proc.stderr
    sent_back = srv.requests[1].tool_results()[-1]
    # /tmp is private in the sandbox, so the outside folder is not even there to write to.
    assert "escaped.txt: No such file or directory" in sent_back and "done" in sent_back
    assert (workspace / "inside.txt").exists() and not (outside / "escaped.txt").exists()


def test_sandbox_off_runs_commands_directly(server, cli, workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    srv = server(_escape_attempt(outside))
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--sandbox", "off")
    assert proc.returncode == 0, proc.stderr
    assert (outside / "escaped.txt").exists()


def test_sandbox_on_without_bwrap_is_a_one_line_error(server, cli, workspace, tmp_path):
    srv = server([Turn(text="never asked")])
    proc = cli(srv, PATH=str(tmp_path))("run", "go", "-C", str(workspace), "--model",
                                        "anthropic/m", "--sandbox", "on")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--sandbox on: bwrap is not installed" in lines[0]
    assert "apt-get install bubblewrap" in lines[0] and not srv.requests


def test_auto_without_bwrap_says_so_once_and_runs(server, cli, workspace, tmp_path):
    srv = server([Turn(text="answer")])
    proc = cli(srv, PATH=str(tmp_path))("run", "go", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0 and proc.stdout.strip() == "answer"
    notices = [ln for ln in proc.stderr.splitlines() if "without a sandbox" in ln]
    assert len(notices) == 1 and "bwrap is not installed" in notices[0]


def test_bad_sandbox_mode_is_a_one_line_error(cli, workspace):
    proc = cli()("run", "go", "-C", str(workspace), "--sandbox", "maybe")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "agentcli: error: --sandbox must be auto, on or off, not 'maybe'"


def test_choose_follows_the_mode_and_the_front_end(monkeypatch):
    monkeypatch.delenv("AGENTCLI_SANDBOX", raising=False)
    assert choose("off", headless=True) == (None, None)
    assert choose("off", headless=False) == (None, None)
    monkeypatch.setenv("AGENTCLI_SANDBOX", "off")
    assert choose(None, headless=True) == (None, None)
    with pytest.raises(SandboxError):
        choose("sometimes", headless=True)
    for headless in (True, False):  # the chat gets the same sandbox as headless runs
        box, notice = choose("auto", headless=headless)
        assert (box is not None) == (BWRAP is not None) and (notice is None) == (BWRAP is not None)


@needs_bwrap
def test_git_works_in_a_workspace_inside_a_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "top.txt").write_text("top\n")
    git = ["git", "-c", "user.email=a@example.com", "-c", "user.name=A"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    ws = Workspace(repo / "pkg")
    proc = _run(Sandbox(BWRAP), ws, "echo x > f.py && git add f.py && "
                "git -c user.email=a@example.com -c user.name=A commit -qm add && "
                "(echo changed > ../top.txt; true)")
    assert proc.returncode == 0, proc.stderr
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True)
    assert log.stdout.split() == ["add", "init"]
    assert (repo / "top.txt").read_text() == "top\n"  # the rest of the repository is not writable


@needs_bwrap
def test_a_command_the_sandbox_stopped_says_so_in_its_result(tmp_path, workspace):
    from agentcli.tools import ToolContext
    from agentcli.tools.shell import run

    ctx = ToolContext(Workspace(workspace), services={"sandbox": Sandbox(BWRAP)})
    blocked = run({"command": "touch /etc/agentcli-sandbox-test"}, ctx)
    assert "Read-only file system" in blocked.content and "--sandbox off" in blocked.content
    failed = run({"command": "ls no-such-file"}, ctx)  # an ordinary failure: no sandbox note
    assert "exit code: 2" in failed.content and "sandbox" not in failed.content


@needs_bwrap
def test_programs_kept_under_tmp_still_run_in_the_private_tmp(tmp_path, workspace, monkeypatch):
    """A checkout (and its .venv) in /tmp, as CI jobs often have: its tools must still be there."""
    assert str(tmp_path).startswith("/tmp/")
    tools = tmp_path / "venv" / "bin"
    tools.mkdir(parents=True)
    (tools / "hello-from-tmp").write_text("#!/bin/sh\necho hello\n")
    (tools / "hello-from-tmp").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    proc = _run(Sandbox(BWRAP), Workspace(workspace), f"hello-from-tmp && {tools}/hello-from-tmp "
                                                      f"&& touch {tools}/x || echo read-only")
    assert proc.stdout.split() == ["hello", "hello", "read-only"], proc.stderr
