"""memory_search / memory_read as the model uses them, spill previews, redaction, and the
`agentcli memory` commands people use to read the library."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agentcli.config import Settings
from agentcli.library import Library
from agentcli.library.archive import read_events
from agentcli.library.compaction import SUMMARY_MARKER
from agentcli.session import Session
from agentcli.testing.scripted_server import Turn
from conftest import provider_env


def grep_session(server, cli, workspace) -> str:
    srv = server(lambda req: Turn(tool_calls=[{"name": "grep", "arguments": {"pattern": "TIMEOUT_SECONDS"}}])
                 if not req.tool_results() else Turn(text="found it"))
    result, proc = cli(srv).json("run", "find the timeout", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    return result["session_id"]


def test_memory_search_finds_a_past_session_and_memory_read_shows_the_event(server, cli, workspace):
    past = grep_session(server, cli, workspace)

    def respond(req):
        results = req.tool_results()
        if not results:
            return Turn(tool_calls=[{"name": "memory_search", "arguments": {"query": "TIMEOUT_SECONDS"}}])
        if len(results) == 1:
            event = re.search(r"(e\d{6}) · tool_result grep", results[0]).group(1)
            session = re.search(r"session (\S+)", results[0]).group(1)
            return Turn(tool_calls=[{"name": "memory_read", "arguments": {"event": event, "session": session}}])
        return Turn(text=results[-1])

    srv = server(respond)
    result, proc = cli(srv).json("run", "what did we find last time?", "-C", str(workspace),
                                 "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    assert result["session_id"] != past
    first = srv.requests[1].tool_results()[0]
    assert f"session {past}" in first and "TIMEOUT_SECONDS = 37" in first
    assert "(call: grep {\"pattern\": \"TIMEOUT_SECONDS\"})" in result["result"]
    assert "src/app.py:4: TIMEOUT_SECONDS = 37" in result["result"]
    assert "memory_search" in srv.requests[0].tool_names and "memory_read" in srv.requests[0].tool_names
    assert "memory_search" in srv.requests[0].system  # the system prompt tells the model


def test_a_large_output_is_spilled_previewed_and_paged_with_memory_read(server, cli, workspace):
    command = "seq 1 3000 | sed 's/^/row /'"

    def respond(req):
        results = req.tool_results()
        if not results:
            return Turn(tool_calls=[{"name": "shell", "arguments": {"command": command}}])
        if len(results) == 1:
            event = re.search(r'memory_read\(event="(e\d{6})"', results[0]).group(1)
            return Turn(tool_calls=[{"name": "memory_read", "arguments": {
                "event": event, "offset": 1500, "limit": 3}}])
        return Turn(text=results[-1])

    srv = server(respond)
    result, proc = cli(srv).json("run", "count rows", "-C", str(workspace), "--model", "openai/m",
                                 "--context-window", "16384")
    assert proc.returncode == 0, proc.stderr
    preview = srv.requests[1].tool_results()[0]
    assert "row 1\n" in preview and "row 3000" in preview and "row 1500\n" not in preview
    assert len(preview) < 6000
    # Lines of the full result (after "exit code: 0" and "stdout:"), numbered for paging.
    assert "  1500\trow 1498\n  1501\trow 1499\n  1502\trow 1500\n" in result["result"]
    assert "read on with offset=1503" in result["result"]
    folder = workspace / ".agentcli" / "sessions" / result["session_id"]
    event = next(e for e in read_events(folder / "events.jsonl") if e["type"] == "tool_result")
    assert "row 1500\n" in event["message"]["content"] and event["shown"] == preview
    assert (folder / event["spill"]).read_text() == event["message"]["content"]


def test_bad_memory_calls_are_errors_the_model_reads_and_the_run_goes_on(server, cli, workspace):
    def respond(req):
        results = req.tool_results()
        if not results:
            return Turn(tool_calls=[{"name": "memory_read", "arguments": {"event": "yesterday"}},
                                    {"name": "memory_search", "arguments": {"query": "  "}},
                                    {"name": "memory_read", "arguments": {"event": "e000001",
                                                                         "session": "nope"}}])
        return Turn(text=" | ".join(results))

    srv = server(respond)
    result, proc = cli(srv).json("run", "look back", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    bad_id, empty, no_session = result["result"].split(" | ")
    assert bad_id.startswith("error: not an event id or range: 'yesterday'")
    assert empty.startswith("error: the query is empty")
    assert no_session.startswith("error: no session matches 'nope'")


def test_memory_commands_let_a_person_read_the_library(server, cli, workspace):
    sid = grep_session(server, cli, workspace)
    run = cli()
    found = run("memory", "search", "TIMEOUT_SECONDS", "-C", str(workspace))
    assert found.returncode == 0, found.stderr
    assert "tool_result grep" in found.stdout and "TIMEOUT_SECONDS = 37" in found.stdout
    target = re.search(rf"agentcli memory show ({sid}:e\d{{6}})", found.stdout).group(1)
    shown = run("memory", "show", target, "-C", str(workspace))
    assert shown.returncode == 0 and "src/app.py:4: TIMEOUT_SECONDS = 37" in shown.stdout
    index = run("memory", "show", "-C", str(workspace))
    assert index.stdout.startswith(f"# Session {sid}") and "find the timeout" in index.stdout
    hits = run("memory", "search", "TIMEOUT_SECONDS", "--json", "--session", sid[:16], "-C", str(workspace))
    assert json.loads(hits.stdout.splitlines()[0])["session_id"] == sid
    missing = run("memory", "search", "no-such-words-anywhere", "-C", str(workspace))
    assert missing.returncode == 1 and "no events match" in missing.stdout
    nosummary = run("memory", "show", "summary", "-C", str(workspace))
    assert nosummary.returncode != 0 and "has not been compacted yet" in nosummary.stderr
    bad = run("memory", "search", "(unclosed", "--regex", "-C", str(workspace))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_every_library_file_passes_through_the_redaction_hook(server, workspace, monkeypatch):
    secret = "sk-live-7d1f00b4c0ffee"

    def respond(req):
        if SUMMARY_MARKER in req.system:
            return Turn(text="## Goal\n" + req.messages[-1]["content"][:3000])
        if not req.tool_results():
            return Turn(text=f"I will print {secret}.", tool_calls=[{"name": "shell", "arguments": {
                "command": f"for i in $(seq 1 800); do echo line $i {secret}; done"}}])
        return Turn(text=f"printed {secret}")

    srv = server(respond)
    for key, value in provider_env(srv).items():
        monkeypatch.setenv(key, value)
    original = Library.for_workspace.__func__

    def with_redactor(cls, workspace, override=None, redact=None):
        return original(cls, workspace, override, lambda text: text.replace(secret, "[REDACTED]"))

    monkeypatch.setattr(Library, "for_workspace", classmethod(with_redactor))
    session = Session.create(Settings(workspace=workspace, model="openai/m", context_window=16384,
                                      fallback=[]))
    # Enough conversation before the last request that a summary makes the window smaller.
    session.run("some background first: " + " ".join(f"fact {i} about the project." for i in range(400)))
    outcome = session.run(f"print the key {secret} please")
    assert outcome.result == f"printed {secret}"  # the model's own view is not redacted
    assert session.compact("keep the key") is not None
    session.archive.close()
    written = [p for p in (workspace / ".agentcli").rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"events.jsonl", "INDEX.md", "requests.md", "meta.json", "001.md", "search.db"} <= names
    assert any(p.parent.name == "spill" for p in written)
    for path in written:
        assert secret not in path.read_text(errors="replace"), path
    assert "[REDACTED]" in (session.dir / "requests.md").read_text()


def test_an_event_that_is_not_there_is_an_error_for_the_model_and_for_a_person(server, cli, workspace):
    sid = grep_session(server, cli, workspace)
    run = cli()
    missing = run("memory", "show", "e999999", "-C", str(workspace))
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith(f"agentcli: error: no event e999999 in session {sid} (its events are e000001-e")
    nohit = run("memory", "search", "no-such-words-anywhere", "-C", str(workspace))
    assert "--regex" in nohit.stdout and "regex=true" not in nohit.stdout

    def respond(req):
        if not req.tool_results():
            return Turn(tool_calls=[{"name": "memory_read", "arguments": {"event": "e999999"}},
                                    {"name": "memory_search", "arguments": {"query": "zzqqxx-nothing"}}])
        return Turn(text="ok")

    srv = server(respond)
    result, proc = cli(srv).json("run", "look", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    folder = workspace / ".agentcli" / "sessions" / result["session_id"]
    read, search = [e["message"] for e in read_events(folder / "events.jsonl") if e["type"] == "tool_result"]
    assert read["is_error"] and read["content"].startswith("error: no event e999999 in session")
    assert "regex=true" in search["content"] and not search.get("is_error")


def test_paging_hints_name_the_flags_on_the_command_line(server, cli, workspace):
    command = "seq 1 3000 | sed 's/^/row /'"  # large enough to page, small enough to stay inline
    srv = server(lambda req: Turn(tool_calls=[{"name": "shell", "arguments": {"command": command}}])
                 if not req.tool_results() else Turn(text="ok"))
    result, proc = cli(srv).json("run", "rows", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    folder = workspace / ".agentcli" / "sessions" / result["session_id"]
    eid = next(e["id"] for e in read_events(folder / "events.jsonl") if e["type"] == "tool_result")
    shown = cli()("memory", "show", eid, "--lines", "2", "-C", str(workspace))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip().endswith("read on with --offset 3]") and "offset=" not in shown.stdout
