"""Resume: `agentcli sessions`, `agentcli run --resume ID`, and surviving SIGKILL at any point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcli.library.archive import read_events
from conftest import provider_env
from agentcli.testing.scripted_server import Turn


def archive_of(workspace: Path, session_id: str) -> list[dict]:
    return list(read_events(workspace / ".agentcli" / "sessions" / session_id / "events.jsonl"))


def only_session(workspace: Path) -> str:
    (sid,) = [p.name for p in (workspace / ".agentcli" / "sessions").iterdir()]
    return sid


def start_cli(srv, workspace: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, **provider_env(srv)}
    return subprocess.Popen([sys.executable, "-m", "agentcli", "run", *args, "-C", str(workspace),
                             "--model", "openai/scripted", "--output-format", "json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_resume_continues_the_conversation_and_sessions_lists_it(server, cli, workspace):
    def respond(req):
        if "codeword" in req.last_user_text():
            return Turn(text="Noted: the codeword is heliotrope.")
        return Turn(text="It was: " + json.dumps(req.messages))

    srv = server(respond)
    first, proc = cli(srv).json("run", "Remember the codeword heliotrope.", "-C", str(workspace),
                                "--model", "openai/scripted")
    assert proc.returncode == 0, proc.stderr
    sid = first["session_id"]
    # No --model: the session goes on with the model it chose (both keys are set here).
    second, proc = cli(srv).json("run", "What was it?", "-C", str(workspace), "--resume", sid[:15])
    assert proc.returncode == 0, proc.stderr
    assert second["session_id"] == sid and second["num_turns"] == 2
    assert second["model"] == "openai/scripted" and srv.requests[-1].provider == "openai"
    texts = [m["content"] for m in srv.requests[-1].messages]
    assert texts[-3:] == ["Remember the codeword heliotrope.", "Noted: the codeword is heliotrope.",
                          "What was it?"]
    assert "resumed session" in proc.stderr
    kinds = [e["type"] for e in archive_of(workspace, sid)]
    assert kinds.count("run_end") == 2 and "session_resume" in kinds

    listing = cli()("sessions", "-C", str(workspace))
    assert listing.returncode == 0
    row = next(line for line in listing.stdout.splitlines() if line.startswith(sid))
    assert "openai/scripted" in row and " 2  Remember the codeword heliotrope." in row
    rows = cli()("sessions", "-C", str(workspace), "--json").stdout.splitlines()
    info = json.loads(rows[0])
    assert info["id"] == sid and info["turns"] == 2 and info["first_request"].startswith("Remember")


def test_sigkill_mid_tool_records_an_interrupted_result_and_does_not_rerun(server, cli, workspace):
    def respond(req):
        if req.last_user_text() == "carry on":
            return Turn(text="Last result: " + req.tool_results()[-1])
        return Turn(text="Running it.", tool_calls=[{"name": "shell", "arguments": {
            "command": "echo $$ > pid.txt; echo ran >> marker.txt; sleep 60"}}])

    srv = server(respond)
    proc = start_cli(srv, workspace, "start the job")
    try:
        wait_for(lambda: (workspace / "pid.txt").exists() and (workspace / "marker.txt").exists())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    try:
        os.killpg(int((workspace / "pid.txt").read_text()), signal.SIGKILL)  # the orphaned shell
    except (ProcessLookupError, ValueError):
        pass
    sid = only_session(workspace)
    before = archive_of(workspace, sid)
    assert before[-1]["type"] == "tool_call"  # killed while the tool ran

    result, done = cli(srv).json("run", "carry on", "-C", str(workspace), "--resume", sid,
                                 "--model", "openai/scripted")
    assert done.returncode == 0, done.stderr
    assert result["result"].startswith("Last result: interrupted: agentcli stopped before")
    assert (workspace / "marker.txt").read_text() == "ran\n"  # not run again
    after = archive_of(workspace, sid)
    assert after[: len(before)] == before  # nothing rewritten
    synthetic = next(e for e in after if e["type"] == "tool_result")
    assert synthetic["message"]["tool_call_id"] == before[-1]["call"]["id"]
    assert synthetic["meta"] == {"interrupted": True}
    assert "1 interrupted tool call" in done.stderr


def test_sigkill_mid_model_call_loses_no_completed_turn(server, cli, workspace):
    def respond(req):
        if req.last_user_text() == "finish":
            return Turn(text="done: " + req.tool_results()[-1])
        if not req.tool_results():
            return Turn(tool_calls=[{"name": "grep", "arguments": {"pattern": "TIMEOUT_SECONDS"}}])
        return Turn(text="too late", delay=60)

    srv = server(respond)
    proc = start_cli(srv, workspace, "find the timeout")
    try:
        wait_for(lambda: len(srv.requests) >= 2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    sid = only_session(workspace)
    kinds = [e["type"] for e in archive_of(workspace, sid)]
    assert kinds[-3:] == ["assistant", "tool_call", "tool_result"]
    result, done = cli(srv).json("run", "finish", "-C", str(workspace), "--resume", sid,
                                 "--model", "openai/scripted")
    assert done.returncode == 0, done.stderr
    assert result["result"] == "done: src/app.py:4: TIMEOUT_SECONDS = 37"


def test_a_torn_last_line_is_skipped_not_fatal(server, cli, workspace):
    srv = server(lambda req: Turn(text=f"answer {len(req.messages)}"))
    first, _ = cli(srv).json("run", "one", "-C", str(workspace), "--model", "openai/scripted")
    sid = first["session_id"]
    path = workspace / ".agentcli" / "sessions" / sid / "events.jsonl"
    with open(path, "a") as f:
        f.write('{"id": "e999999", "ts": "2025-01-01T00:00:00Z", "type": "assist')  # killed mid-write
    result, proc = cli(srv).json("run", "two", "-C", str(workspace), "--resume", sid,
                                 "--model", "openai/scripted")
    assert proc.returncode == 0, proc.stderr
    lines = path.read_text().splitlines()
    torn = [ln for ln in lines if ln.endswith('"type": "assist')]
    assert len(torn) == 1  # kept (nothing is rewritten) but never read as an event
    events = archive_of(workspace, sid)
    assert [e["id"] for e in events] == [f"e{i:06d}" for i in range(1, len(events) + 1)]
    assert cli()("sessions", "-C", str(workspace)).returncode == 0


@pytest.mark.parametrize("args,needle", [
    (["run", "x", "--resume", "nosuchsession"], "no session matches 'nosuchsession'"),
    (["memory", "show", "nosuch"], "no session matches 'nosuch'"),
    (["memory", "show"], "no sessions yet"),
])
def test_unknown_session_is_a_one_line_error(args, needle, cli, workspace):
    proc = cli()(*args, "-C", str(workspace))
    assert proc.returncode != 0
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_session_in_use_cannot_be_resumed_and_two_sessions_run_side_by_side(server, cli, workspace):
    def respond(req):
        if req.last_user_text() == "slow one":
            return Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 3"}}]) \
                if not req.tool_results() else Turn(text="slow done")
        return Turn(text="quick done")

    srv = server(respond)
    slow = start_cli(srv, workspace, "slow one")
    try:
        wait_for(lambda: len(srv.requests) >= 1)
        sid = only_session(workspace)
        busy = cli(srv)("run", "x", "-C", str(workspace), "--resume", sid, "--model", "openai/scripted")
        assert busy.returncode != 0 and "in use by another agentcli process" in busy.stderr
        quick, proc = cli(srv).json("run", "quick one", "-C", str(workspace), "--model", "openai/scripted")
        assert proc.returncode == 0 and quick["session_id"] != sid
    finally:
        out, err = slow.communicate(timeout=60)
    assert slow.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["result"] == "slow done"
    root_index = (workspace / ".agentcli" / "INDEX.md").read_text()
    assert f"- {sid} " in root_index and f"- {quick['session_id']} " in root_index


def test_a_prefix_shared_with_the_open_session_names_the_other_one(tmp_path):
    # Two sessions started in the same second share "YYYYMMDD-HHMMSS-": /resume with that much
    # from the chat that just ran /clear means the earlier one, not "2 sessions match".
    from agentcli.library import Library, LibraryError
    from agentcli.library.archive import ARCHIVE_NAME

    library = Library.for_workspace(tmp_path, None)
    for sid in ("20261207-145108-2fea", "20261207-145108-1d14"):
        library.session_dir(sid).mkdir(parents=True)
        (library.session_dir(sid) / ARCHIVE_NAME).write_text("")
    prefix = "20261207-145108"
    assert library.resolve_session(prefix, exclude="20261207-145108-1d14") == "20261207-145108-2fea"
    with pytest.raises(LibraryError, match="2 sessions match"):
        library.resolve_session(prefix)
