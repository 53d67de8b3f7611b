"""The command's way out (`agentcli.cli.entry`): once the command returned, the process ends
without Python's slow teardown, and nothing is lost by it: exit hooks run, buffered output
reaches a pipe, the status is the command's, and a thread still at work is waited for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# A stand-in for the CLI's `main`, so the exit path is tested alone; the real commands go
# through it in every other test that starts `python -m agentcli`.
SCRIPT = textwrap.dedent("""
    import atexit, os, sys, threading, time
    from pathlib import Path
    import agentcli.cli.app as app
    out = Path(sys.argv[1])

    def main():
        mode = sys.argv[2]
        atexit.register(lambda: (out / "atexit").write_text("ran"))
        sys.stdout.write("answer without a newline")  # left in the buffer on purpose
        if mode == "thread":
            def late():
                time.sleep(0.3)
                (out / "thread").write_text("done")
            threading.Thread(target=late).start()
        if mode == "message":
            sys.exit("agentcli: a message instead of a status")
        sys.exit(3)

    app.main = main
    from agentcli.cli import entry
    entry.main()
    (out / "returned").write_text("entry.main returned")
""")


def _run(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), mode],
                          capture_output=True, text=True, timeout=60)


def test_the_status_the_output_and_the_exit_hooks_survive_the_quick_exit(tmp_path):
    proc = _run(tmp_path, "plain")
    assert proc.returncode == 3
    assert proc.stdout == "answer without a newline"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not (tmp_path / "returned").exists()


def test_a_thread_still_working_is_waited_for(tmp_path):
    proc = _run(tmp_path, "thread")
    assert proc.returncode == 3
    assert (tmp_path / "thread").read_text() == "done"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_an_exit_with_a_message_prints_it_and_fails(tmp_path):
    proc = _run(tmp_path, "message")
    assert proc.returncode == 1
    assert "agentcli: a message instead of a status" in proc.stderr
    assert proc.stdout == "answer without a newline"


def test_a_real_run_ends_quickly_and_keeps_its_archive(tmp_path):
    """Through the real CLI against the scripted server: the answer, status 0, and the session's
    archive on disk with its last event (written just before the quick exit)."""
    import os

    from agentcli.testing.scripted_server import ScriptedServer, Turn

    ws = tmp_path / "ws"
    ws.mkdir()
    with ScriptedServer([Turn(text="pong")]) as srv:
        env = {**os.environ, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": srv.anthropic_base_url,
               "AGENTCLI_FALLBACK": "none", "HOME": str(tmp_path / "home"),
               "AGENTCLI_HOME": str(tmp_path / "data")}
        proc = subprocess.run([sys.executable, "-m", "agentcli", "run", "ping", "--model",
                               "anthropic/bench", "-C", str(ws)], env=env, capture_output=True,
                              text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pong"
    archives = list((tmp_path / "data").rglob("*.jsonl"))
    assert archives, list((tmp_path / "data").rglob("*"))
    assert any('"type": "run_end"' in a.read_text() for a in archives)
