"""The library's parts through their public API: spill previews, index rebuilds, search ranking,
budgets, pairing repair, token accounting, prefix stability and shared-file locking."""

from __future__ import annotations

import contextlib
import json
import os
import multiprocessing
from pathlib import Path

import pytest

from agentcli.config import Settings
from agentcli.library import Library
from agentcli.library.archive import Archive, find_events, read_events
from agentcli.library.budget import Budget
from agentcli.library.context import Entry
from agentcli.library.index import TOPICS, SessionIndex
from agentcli.library.reading import parse_range
from agentcli.library.search import search
from agentcli.tools.spill import needs_spill, preview, threshold_tokens
from agentcli.library.trim import repair
from agentcli.session import Session
from agentcli.testing.scripted_server import Turn
from agentcli.types import Message, ToolCall
from conftest import provider_env


@pytest.fixture
def api_session(server, workspace, monkeypatch):
    """`make(responder, **settings)`: a Session in this process against a scripted server."""

    def make(responder, **kw):
        srv = server(responder)
        for key, value in provider_env(srv).items():
            monkeypatch.setenv(key, value)
        return srv, Session.create(Settings(workspace=workspace, model="openai/m", fallback=[], **kw))

    return make


def test_preview_keeps_head_and_tail_and_says_where_the_rest_is():
    text = "".join(f"line {i}\n" for i in range(1, 5001))
    assert needs_spill(text, 32768) and not needs_spill("short\n" * 10, 32768)
    shown = preview(text, "e000042", 32768, ".agentcli/sessions/s/spill/e000042.txt")
    assert shown.startswith("line 1\nline 2\n") and shown.endswith("line 5000\n")
    assert 'memory_read(event="e000042", offset=LINE)' in shown
    assert ".agentcli/sessions/s/spill/e000042.txt" in shown
    assert len(shown) < threshold_tokens(32768) * 3


def test_budgets_leave_room_for_the_reply_and_for_work():
    for window in (8192, 32768, 200_000):
        b = Budget(window, max_output=8192)
        assert b.recent < b.target < b.limit < window - min(8192, window // 4)
        assert b.summary < b.target


def test_repair_moves_results_to_their_calls_and_reports_missing_ones():
    call_a, call_b = ToolCall("a", "read", {}), ToolCall("b", "shell", {})
    entries = [Entry("e1", Message("assistant", tool_calls=[call_a, call_b])),
               Entry("e2", Message("user", "meanwhile")),
               Entry("e3", Message("tool", "A", tool_call_id="a")),
               Entry("e4", Message("tool", "orphan", tool_call_id="zzz"))]
    fixed, missing = repair(entries)
    assert [e.event_id for e in fixed] == ["e1", "e3", "e2"]
    assert missing == [("e1", call_b)]


def test_search_matches_words_phrases_and_json_escaped_text(tmp_path):
    lib = Library(tmp_path / "lib")
    archive = Archive(lib.session_dir("s1") / "events.jsonl")
    archive.append("user", message={"role": "user", "content": 'He said "hello world" at C:\\temp'})
    archive.append("user", message={"role": "user", "content": "hello there, world"})
    archive.append("tool_call", call={"id": "x", "name": "grep", "arguments": {"pattern": "hello world"}})
    archive.close()
    phrase = search(lib, '"hello world"')
    assert [h.event_id for h in phrase] == ["e000001"]
    words = search(lib, "hello world")
    assert [h.event_id for h in words] == ["e000001", "e000002"]  # the phrase first
    assert [h.event_id for h in search(lib, 'C:\\temp')] == ["e000001"]
    assert search(lib, "nothing-like-this") == []
    assert parse_range("e12-e10") == (10, 12) and parse_range("7") == (7, 7)
    with pytest.raises(ValueError):
        parse_range("yesterday")


def test_archive_observers_never_lose_an_event_and_find_events_reads_by_id(tmp_path):
    archive = Archive(tmp_path / "events.jsonl")
    seen = []
    archive.observers += [lambda r: 1 / 0, seen.append]
    ids = [archive.append("note", n=i) for i in range(5)]
    assert ids == [f"e{i:06d}" for i in range(1, 6)] and len(seen) == 5
    with open(archive.path, "a") as f:
        f.write('{"id": "e000006", "ty')
    assert [e["n"] for e in find_events(archive.path, 2, 6)] == [1, 2, 3, 4]


def test_index_files_are_deterministic_rebuilds_of_the_archive(api_session):
    def respond(req):
        done = len(req.tool_results())
        calls = [{"name": "read", "arguments": {"path": "src/app.py"}},
                 {"name": "shell", "arguments": {"command": "exit 3"}},
                 {"name": "edit", "arguments": {"path": "src/util.py", "old": "a + b", "new": "b + a"}}]
        return Turn(text=f"step {done}", tool_calls=[calls[done]]) if done < 3 else Turn(text="done")

    _, session = api_session(respond)
    session.run("tidy up util")
    folder = session.dir
    files = ["INDEX.md", "meta.json", *TOPICS]
    before = {name: (folder / name).read_text() for name in files if (folder / name).exists()}
    assert "e000007-e000008 shell `exit 3` → exit 3" in before["commands.md"]
    assert "e000007-e000008 shell" in before["errors.md"]
    assert "e000010-e000011 edit src/util.py" in before["files.md"]
    assert "src/util.py — e000011 edit" in before["INDEX.md"]
    SessionIndex(session.library, session.id).rebuild(read_events(session.archive.path))
    after = {name: (folder / name).read_text() for name in before}
    assert after == before


def test_requests_between_compactions_share_a_byte_identical_prefix(api_session):
    def respond(req):
        done = len(req.tool_results())
        return Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": f"*{done}*"}}]) \
            if done < 5 else Turn(text="done")

    srv, session = api_session(respond)
    session.run("look around")
    bodies = [r.body for r in srv.requests]
    for prev, nxt in zip(bodies, bodies[1:]):
        assert json.dumps(nxt["tools"]) == json.dumps(prev["tools"])
        assert json.dumps(nxt["messages"]).startswith(json.dumps(prev["messages"])[:-1])


def test_context_tokens_prefer_the_providers_count(api_session):
    srv, session = api_session(lambda req: Turn(text="ok", usage={"input_tokens": 5000,
                                                                  "output_tokens": 7}))
    session.run("hello")
    parts = session.context_breakdown()
    assert set(parts) == {"system", "tools", "summary", "messages", "tool_results"}
    assert sum(parts.values()) < 5000  # the estimate alone
    added = session.context.entries[-1].tokens  # the reply came after the counted request
    assert session.context_tokens() == 5000 + added


def _update_many(root: str, who: int) -> None:
    lib = Library(Path(root))
    for i in range(25):
        lib.update_root_index(f"2025{who:02d}{i:02d}", f"session {who}/{i}")


def test_two_processes_updating_the_shared_index_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_update_many, args=(str(tmp_path), who)) for who in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    lines = [ln for ln in (tmp_path / "INDEX.md").read_text().splitlines() if ln.startswith("- ")]
    assert len(lines) == 50 and len(set(lines)) == 50


def test_a_closed_session_resumes_in_the_same_process(api_session, workspace):
    srv, session = api_session(lambda req: Turn(text=f"seen {len(req.messages)} messages"))
    session.run("first")
    with pytest.raises(Exception, match="in use by another agentcli process"):
        Session.resume(Settings(workspace=workspace, fallback=[]), session.id)
    session.close()
    again = Session.resume(Settings(workspace=workspace, fallback=[]), session.id)
    assert again.model.name == "openai/m" and again.turns == 1
    assert again.run("second").result == "seen 4 messages"  # system + first, answer, second


def test_manual_compaction_sends_the_instructions_and_says_when_there_is_nothing_to_do(api_session):
    from agentcli.library.compaction import SUMMARY_MARKER

    def respond(req):
        if SUMMARY_MARKER in req.system:
            return Turn(text="## Goal\nSummarised as asked: " + req.last_user_text()[-200:])
        done = len(req.tool_results())
        # Enough reasoning in the window that a summary makes it smaller.
        notes = " ".join(f"step {done} weighs option {i} against the timeout." for i in range(150))
        return Turn(text=notes, tool_calls=[{"name": "read", "arguments": {"path": "src/app.py"}}]) \
            if done < 3 else Turn(text="done")

    srv, session = api_session(respond)
    notices = []
    session.emit.observers.append(lambda e: notices.append(e.data.get("text")) if e.kind == "notice" else None)
    assert session.compact() is None and "nothing to compact" in notices[-1]
    session.run("read app.py a few times")
    record = session.compact("keep the TIMEOUT value")
    assert record["step"] == "summary" and record["reason"] == "manual"
    summary_request = next(r for r in srv.requests if SUMMARY_MARKER in r.system)
    assert "keep the TIMEOUT value" in summary_request.last_user_text()
    assert session.context.summary.startswith("[Context summary #1.")
    assert "## The user's latest request (verbatim, e000002)" in session.context.summary
    assert session.context_breakdown()["summary"] > 0


def test_compact_on_a_short_chat_changes_nothing_and_costs_no_call(api_session):
    from agentcli.library.compaction import SUMMARY_MARKER

    srv, session = api_session(lambda req: Turn(text="Summary: " + "words " * 300)
                               if SUMMARY_MARKER in req.system else Turn(text="Hello! How can I help?"))
    notices = []
    session.emit.observers.append(lambda e: notices.append(e.data.get("text")) if e.kind == "notice" else None)
    session.run("hi there")
    before, requests, window = session.context_tokens(), len(srv.requests), list(session.context.messages)
    assert session.compact() is None
    assert "nothing to compact" in notices[-1] and "too little" in notices[-1]
    assert len(srv.requests) == requests  # no summary call was made
    assert session.context_tokens() == before and session.context.messages == window


def test_a_summary_longer_than_what_it_replaces_is_not_kept(api_session):
    from agentcli.library.compaction import SUMMARY_MARKER

    def respond(req):
        if SUMMARY_MARKER in req.system:
            return Turn(text="## Goal\n" + "a very long summary line\n" * 2000)
        return Turn(tool_calls=[{"name": "read", "arguments": {"path": "src/app.py"}}]) \
            if len(req.tool_results()) < 30 else Turn(text="done")

    srv, session = api_session(respond)
    session.run("read app.py many times")
    for entry in session.context.entries:
        entry.message.content += " padding" * 40  # make what would leave the window worth a summary
        entry._tokens = None
    session.context.version += 1
    before = session.context_tokens()
    session.compact()
    assert any(SUMMARY_MARKER in r.system for r in srv.requests)  # it was worth asking...
    assert session.context_tokens() <= before  # ...but the long answer did not grow the window
    assert session.context.summary is None and session.compactor.summary is None


def test_a_small_model_is_not_asked_for_a_summary_the_index_digest_stands_in(api_session):
    """A 1.5B on a CPU took minutes per summary and wrote guesses ("the file is empty")."""
    from agentcli.library.compaction import SMALL_MODEL_DIGEST, SUMMARY_MARKER

    def respond(req):
        return Turn(tool_calls=[{"name": "read", "arguments": {"path": "src/app.py"}}]) \
            if len(req.tool_results()) < 30 else Turn(text="done")

    srv, session = api_session(respond)
    session.model.lean = True
    session.run("read app.py many times")
    for entry in session.context.entries:
        entry.message.content += " padding" * 40
        entry._tokens = None
    session.context.version += 1
    before = session.context_tokens()
    record = session.compact()
    assert not any(SUMMARY_MARKER in r.system for r in srv.requests)
    assert record["step"] == "digest" and record["failure"] is None
    assert SMALL_MODEL_DIGEST in session.compactor.summary and "read app.py many times" in session.compactor.summary
    assert session.context_tokens() < before


def test_a_closed_session_leaves_no_file_of_its_library_open(api_session, workspace):
    """A process that opens many sessions (a chat's /new, a batch, the tests) must not keep the
    search index's and the code map's database files of each one open."""
    library_dir = str(workspace / ".agentcli")

    def open_files() -> list[str]:
        held = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                held.append(os.readlink(f"/proc/self/fd/{fd}"))
        return [p for p in held if p.startswith(library_dir)]

    for _ in range(3):
        _, session = api_session([Turn(text="Reading.", tool_calls=[
            {"name": "memory_search", "arguments": {"query": "hello"}}]), Turn(text="Done.")])
        assert session.run("Search for hello.").stop_reason == "done"
        session.close()
    assert open_files() == []
