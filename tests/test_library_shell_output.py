"""A command's output is lossless on disk: large `shell` output is kept whole in the session's
spill folder (up to a hard cap), the model gets a head+tail view naming the file and the event,
and memory_read / `agentcli memory show` page through every line. Commands run without the
providers' keys in their environment."""

from __future__ import annotations

import re
import subprocess
import time

from agentcli.library.archive import read_events
from agentcli.testing.scripted_server import Turn
from agentcli.tools import CORE_TOOLS, ToolBox, ToolContext, Workspace
from agentcli.tools.output import StreamCapture
from agentcli.types import ToolCall

LINES = 300_000  # `seq` prints about 2 MB: far past what a result may hold


def test_huge_shell_output_is_kept_whole_and_paged_by_the_model_and_a_person(server, cli, workspace):
    command = f"seq 1 {LINES}; echo done-on-stderr >&2"

    def respond(req):
        results = req.tool_results()
        if not results:
            return Turn(tool_calls=[{"name": "shell", "arguments": {"command": command}}])
        if len(results) == 1:
            m = re.search(r'memory_read\(event="(e\d{6})", offset=(\d+)\)', results[0])
            return Turn(tool_calls=[{"name": "memory_read", "arguments": {
                "event": m.group(1), "offset": 150_002, "limit": 3}}])
        return Turn(text=results[-1])

    srv = server(respond)
    result, proc = cli(srv).json("run", "count", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    view = srv.requests[1].tool_results()[0]
    assert len(view) < 20_000
    assert view.startswith("exit code: 0\nstdout:\n1\n2\n") and f"{LINES}\nstderr:\ndone-on-stderr" in view
    assert "Nothing is lost" in view and "spill/e" in view
    # The model paged to the middle: file line 150002 is `seq`'s 150000 (after two header lines).
    assert "150002\t150000\n150003\t150001\n150004\t150002" in result["result"]
    assert "read on with offset=150005" in result["result"]

    folder = workspace / ".agentcli" / "sessions" / result["session_id"]
    event = next(e for e in read_events(folder / "events.jsonl") if e["type"] == "tool_result")
    assert event["message"]["content"] == view  # the archive holds the view; the file the rest
    full = (folder / event["meta"]["full_output"]).read_text()
    expected = "".join(f"{i}\n" for i in range(1, LINES + 1))
    assert full == f"exit code: 0\nstdout:\n{expected}stderr:\ndone-on-stderr\n"
    assert f"event {event['id']}" in view and event["meta"]["full_output"] in view

    # A person pages the same way, with the CLI's flags in the hint.
    shown = cli()("memory", "show", f"{result['session_id']}:{event['id']}", "--offset", "5",
                  "--lines", "2", "-C", str(workspace))
    assert shown.returncode == 0, shown.stderr
    assert "     5\t3\n     6\t4\n[lines 5-6; read on with --offset 7]" in shown.stdout


def test_without_a_session_output_is_capped_and_the_pipe_of_a_background_child_does_not_block(workspace):
    box = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace)))
    started = time.monotonic()
    r = box.dispatch(ToolCall(id="t", name="shell", arguments={"command": "sleep 20 & echo started"}))
    assert time.monotonic() - started < 5, "a background child holding stdout kept the call waiting"
    assert "stdout:\nstarted" in r.content and r.meta["exit_code"] == 0


def test_a_runaway_stream_is_capped_on_disk_with_a_marker_and_its_tail_kept():
    proc = subprocess.Popen(["bash", "-c", "yes x | head -c 5000000; echo THE-END"],
                            stdout=subprocess.PIPE)
    capture = StreamCapture(proc.stdout, cap=1 << 20, tail_keep=1000)
    proc.wait()
    size = capture.finish(5)
    capture.file.seek(0)
    data = capture.file.read()
    capture.close()
    assert size == len(data) < (1 << 20) + 2000
    assert data.startswith(b"x\nx\n")
    assert re.search(rb"\[\.\.\. [\d,]+ bytes cut: the output passed the 1 MiB", data)
    assert data.endswith(b"x\nTHE-END\n")


def test_a_large_output_is_redacted_block_by_block_on_its_way_to_the_library(tmp_path, workspace):
    from types import SimpleNamespace

    from agentcli.library import Library

    token = "ghp_" + "R4nd0mT0k3n" * 4  # built from pieces, as in test_secrets.py
    host = SimpleNamespace(archive=SimpleNamespace(count=6), dir=tmp_path / "lib" / "sessions" / "s",
                           library=Library(tmp_path / "lib"), workspace=Workspace(workspace),
                           model=SimpleNamespace(context_window=200_000))
    box = ToolBox(CORE_TOOLS, ToolContext(Workspace(workspace), library=host))
    command = f"for i in $(seq 1 40000); do echo \"$i {token}\"; done"
    r = box.dispatch(ToolCall(id="t", name="shell", arguments={"command": command}))
    assert r.meta["full_output"] == "spill/e000007.txt" and 'memory_read(event="e000007"' in r.content
    full = (host.dir / "spill" / "e000007.txt").read_text()
    assert token not in full and token not in r.content
    assert full.count("[REDACTED:github-token]") == 40000 and "\n40000 [REDACTED" in full
