"""A session long enough to compact several times, end to end through the real CLI.

The scripted model reads log files one per turn, and after every compaction it asks
memory_search for each fact planted in the files read so far. The tests then check the archive,
the index files, the requests the server received and what memory_search returned.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentcli.library.archive import read_events
from agentcli.library.compaction import SUMMARY_MARKER
from agentcli.testing.scripted_server import Turn
from agentcli.tokens import estimate

WINDOW = 16384


def make_logs(workspace: Path, count: int = 36) -> dict[int, tuple[str, str]]:
    """Log files of varied size under logs/; every fourth holds a planted fact."""
    (workspace / "logs").mkdir()
    facts: dict[int, tuple[str, str]] = {}
    for k in range(count):
        n = 260 if k % 3 == 0 else 40 + 7 * k % 60
        lines = [f"{i:04d} INFO worker {k} finished batch {k * 1000 + i} in {(i * 37) % 900} ms"
                 for i in range(n)]
        if k % 4 == 1:
            name, value = f"orchid-lynx-{k}", f"VAL-{k * 7919 % 100000:05d}"
            lines.insert(n // 2, f"NOTE: the deploy token for {name} is {value}")
            facts[k] = (name, value)
        (workspace / "logs" / f"part{k:02d}.log").write_text("\n".join(lines) + "\n")
    return facts


def request_tokens(req) -> int:
    """The request's size by cl100k: system prompt, tool specs and messages."""
    return estimate(req.system + json.dumps(req.body.get("tools", [])) + json.dumps(req.messages))


def assert_well_paired(req) -> None:
    """Every tool result answers a call of the assistant message just before it (both wires)."""
    open_calls: set[str] = set()
    for m in req.messages:
        if req.provider == "openai":
            if m["role"] == "tool":
                assert m["tool_call_id"] in open_calls, m
                open_calls.discard(m["tool_call_id"])
            else:
                assert not open_calls, f"unanswered calls {open_calls}"
                open_calls = {c["id"] for c in m.get("tool_calls") or []}
        else:
            blocks = m["content"] if isinstance(m["content"], list) else []
            results = [b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"]
            assert set(results) == open_calls, (results, open_calls)
            open_calls = {b["id"] for b in blocks if b.get("type") == "tool_use"}


class LongScript:
    """Reads logs one per turn; after each compaction, searches for every fact read so far."""

    def __init__(self, facts: dict[int, tuple[str, str]], count: int, summary_fault: Turn | None = None):
        self.facts, self.count = facts, count
        self.summary_fault = summary_fault
        self.next_file = 0
        self.signature = (0, 0)
        self.queue: list[tuple[str, str]] = []
        self.awaiting: tuple[str, str] | None = None
        self.checks: list[tuple[int, str, bool]] = []
        self.compactions_seen = 0
        self.summaries: list = []

    def __call__(self, req) -> Turn:
        if SUMMARY_MARKER in req.system:
            self.summaries.append(req)
            if self.summary_fault is not None:
                return self.summary_fault
            body = req.last_user_text()
            quoted = re.findall(r"^e\d{6} .*$", body.split("<user-requests", 1)[1], re.M)[:5]
            return Turn(text=f"## Goal\nRead the logs (summary {len(self.summaries)}).\n"
                             "## User requests\n" + "\n".join(quoted) + "\n## Next step\nRead on.")
        if self.awaiting is not None:
            name, value = self.awaiting
            self.checks.append((self.compactions_seen, name, value in req.tool_results()[-1]))
            self.awaiting = None
        text = json.dumps(req.messages)
        summary_n = max([int(n) for n in re.findall(r"Context summary #(\d+)", text)] or [0])
        signature = (summary_n, text.count("elided from the window"))
        if signature != self.signature and (signature[0] > self.signature[0] or signature[1] > self.signature[1]):
            self.compactions_seen += 1
            self.queue = [f for k, f in sorted(self.facts.items()) if k < self.next_file]
        self.signature = signature
        if self.queue:
            self.awaiting = self.queue.pop(0)
            return Turn(text="Checking my notes.", tool_calls=[{
                "name": "memory_search", "arguments": {"query": f"deploy token {self.awaiting[0]}"}}])
        if self.next_file < self.count:
            k = self.next_file
            self.next_file += 1
            return Turn(text=f"Reading part {k}.",
                        tool_calls=[{"name": "read", "arguments": {"path": f"logs/part{k:02d}.log"}}])
        return Turn(text="All logs read.")


def run_long(server, cli, workspace, script, provider="openai"):
    srv = server(script)
    result, proc = cli(srv).json("run", "Read every log under logs/ in order.", "-C", str(workspace),
                                 "--model", f"{provider}/scripted", "--context-window", str(WINDOW))
    session_dir = workspace / ".agentcli" / "sessions" / result["session_id"]
    return srv, result, proc, session_dir, list(read_events(session_dir / "events.jsonl"))


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_long_session_compacts_and_loses_nothing(provider, server, cli, workspace):
    facts = make_logs(workspace)
    script = LongScript(facts, 36)
    srv, result, proc, folder, events = run_long(server, cli, workspace, script, provider)
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "All logs read."

    # The archive is complete and ordered: ids contiguous, times non-decreasing, every call answered.
    assert [e["id"] for e in events] == [f"e{i:06d}" for i in range(1, len(events) + 1)]
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    calls = [e["call"]["id"] for e in events if e["type"] == "tool_call"]
    answered = [e["message"]["tool_call_id"] for e in events if e["type"] == "tool_result"]
    assert calls == answered
    # Full outputs are archived, spilled or not: each planted fact is in its read's result.
    reads = {e["meta"]["path"]: e for e in events if e["type"] == "tool_result" and e["message"]["name"] == "read"}
    assert len(reads) == 36
    for k, (name, value) in facts.items():
        assert f"the deploy token for {name} is {value}" in reads[f"logs/part{k:02d}.log"]["message"]["content"]
    assert any("spill" in e for e in reads.values())
    spilled = next(e for e in reads.values() if "spill" in e)
    assert (folder / spilled["spill"]).read_text() == spilled["message"]["content"]

    # It compacted several times, with model summaries, and the summary prompt was sent.
    boundaries = [e for e in events if e["type"] == "compaction"]
    assert len(boundaries) >= 3
    assert sum(b["step"] == "summary" for b in boundaries) >= 2
    assert len(script.summaries) >= 2
    assert "(none: this is the first compaction)" in script.summaries[0].last_user_text()
    # ... and later summaries update the previous one rather than starting over.
    assert "Read the logs (summary 1)" in script.summaries[1].last_user_text()
    assert (folder / "summaries" / "001.md").is_file()

    # No request exceeded the window, and compaction never separated a call from its result.
    assert max(request_tokens(r) for r in srv.requests) <= WINDOW
    for req in srv.requests:
        assert_well_paired(req)

    # Every planted fact read before a compaction was found by memory_search after it.
    assert script.compactions_seen >= 3
    assert len(script.checks) >= len(facts)
    assert all(found for _, _, found in script.checks), [c for c in script.checks if not c[2]]

    # Index entries point at the right events.
    by_id = {e["id"]: e for e in events}
    files_md = (folder / "files.md").read_text().splitlines()[1:]
    assert len(files_md) == 36
    for line in files_md:
        m = re.match(r"(e\d{6})-(e\d{6}) read (\S+)", line)
        assert m, line
        call, res = by_id[m.group(1)], by_id[m.group(2)]
        assert call["type"] == "tool_call" and call["call"]["arguments"]["path"] == m.group(3)
        assert res["type"] == "tool_result" and res["meta"]["path"] == m.group(3)
    requests_md = (folder / "requests.md").read_text().splitlines()
    assert requests_md[1] == "e000002 Read every log under logs/ in order."
    index = (folder / "INDEX.md").read_text()
    assert len(index.splitlines()) <= 200 and "## Compactions" in index


@pytest.mark.slow
@pytest.mark.parametrize("fault", [
    Turn(status=400, error_message="invalid request: summary rejected"),
    Turn(status=400, error_message="This model's maximum context length is 16384 tokens"),
], ids=["error", "overflow"])
def test_failing_summary_falls_back_to_the_index_digest(fault, server, cli, workspace):
    facts = make_logs(workspace, 30)
    script = LongScript(facts, 30, summary_fault=fault)
    srv, result, proc, folder, events = run_long(server, cli, workspace, script)
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "All logs read."
    digests = [e for e in events if e["type"] == "compaction" and e["step"] == "digest"]
    assert digests and script.summaries
    assert all(d["failure"] for d in digests)
    assert "summary call failed" in proc.stderr
    summary = (folder / digests[0]["summary_file"]).read_text()
    assert "Digest (written by agentcli without a model" in summary
    assert "e000002 Read every log under logs/ in order." in summary
    assert max(request_tokens(r) for r in srv.requests) <= WINDOW
    assert all(found for _, _, found in script.checks)


@pytest.mark.slow
def test_failover_to_a_smaller_window_compacts_to_fit(server, cli, workspace):
    (workspace / "big").mkdir()
    for k in range(8):
        lines = [f"{i:05d} record {k}-{i}: value {(i * 7919) % 100003} state ok" for i in range(1300)]
        (workspace / "big" / f"f{k}.txt").write_text("\n".join(lines) + "\n")

    def respond(req):
        if SUMMARY_MARKER in req.system:
            return Turn(text="## Goal\nRead the big files.\n## Next step\nKeep reading.")
        done = len(req.tool_results())
        if req.body["model"] == "big-model" and done >= 7:
            return Turn(status=401, error_message="key revoked")
        if done < 8:
            return Turn(tool_calls=[{"name": "read", "arguments": {"path": f"big/f{done}.txt"}}])
        return Turn(text="finished on " + req.body["model"])

    srv = server(respond)
    result, proc = cli(srv).json("run", "read big/", "-C", str(workspace), "--model", "openai/big-model",
                                 "--context-window", "200000", "--fallback", "openai/qwen2.5-coder-7b")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "finished on qwen2.5-coder-7b"
    big = [r for r in srv.requests if r.body["model"] == "big-model"]
    small = [r for r in srv.requests if r.body["model"] == "qwen2.5-coder-7b"]
    assert max(request_tokens(r) for r in big) > 32768  # the big window had grown past the small one
    assert small and max(request_tokens(r) for r in small) <= 32768
    events = list(read_events(workspace / ".agentcli" / "sessions" / result["session_id"] / "events.jsonl"))
    kinds = [e["type"] for e in events]
    assert "model_switch" in kinds
    boundary = next(e for e in events if e["type"] == "compaction")
    assert kinds.index("model_switch") < kinds.index("compaction")
    assert boundary["reason"] == "smaller window" and boundary["window"] == 32768
