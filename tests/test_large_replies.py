"""Large replies through the real SDKs: a 2 MiB answer or tool argument arrives whole (the
pieces of a stream are joined once, so this takes seconds, not minutes), and a runaway tool
call is cut off and refused in one line. The events are read the same however the bytes come."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcli.models.streaming import EventTooLarge, sse_events
from agentcli.testing.scripted_server import Turn

PROVIDERS = ["anthropic", "openai"]
MIB = 1024 * 1024


def _big_text(size: int) -> str:
    """Text that changes along its length, so a piece lost, doubled or out of order shows."""
    lines, n, total = [], 0, 0
    while total < size:
        line = f"line {n:07d} ünïcode ✓ {'x' * (n % 37)}\n"
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines)[:size]


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_2_mib_answer_arrives_whole(provider, server, cli, workspace):
    text = _big_text(2 * MIB)
    srv = server([Turn(text=text, piece_chars=64)])
    proc = cli(srv)("run", "tell me everything", "-C", str(workspace), "--model", f"{provider}/m",
                    timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == text + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_2_mib_tool_argument_is_written_whole(provider, server, cli, workspace):
    content = _big_text(2 * MIB)
    srv = server([Turn(tool_calls=[{"name": "write", "arguments": {"path": "big.txt", "content": content}}],
                       piece_chars=64),
                  Turn(text="written")])
    proc = cli(srv)("run", "write it", "-C", str(workspace), "--model", f"{provider}/m", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "written"
    assert (workspace / "big.txt").read_text(encoding="utf-8") == content


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDERS)
def test_50_mib_of_tool_arguments_is_refused_in_one_line(provider, server, cli, workspace, tmp_path):
    content = "y" * (50 * MIB)
    srv = server([Turn(text="Writing it.", tool_calls=[{"name": "write",
                                                      "arguments": {"path": "huge.txt", "content": content}}],
                       piece_chars=64 * 1024),
                  Turn(text="I could not write it.")])
    library = tmp_path / "library"
    result, proc = cli(srv).json("run", "write a huge file", "-C", str(workspace), "--model",
                                 f"{provider}/m", "--library", str(library), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["result"] == "I could not write it." and result["num_turns"] == 2
    refusals = [line for line in proc.stderr.splitlines() if "8 MiB" in line]
    assert len(refusals) == 1 and "write was not run" in refusals[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (workspace / "huge.txt").exists()
    # The model was told why, and what reached the session's files is small.
    assert "passed 8 MiB" in srv.requests[-1].tool_results()[-1]
    archived = sum(p.stat().st_size for p in library.rglob("*") if p.is_file())
    assert archived < 1 * MIB
    events = [json.loads(line) for p in library.rglob("events.jsonl") for line in p.read_text().splitlines()]
    assert any(e["type"] == "assistant" and e["message"]["content"] == "Writing it." for e in events)


@given(st.lists(st.tuples(st.sampled_from(["message_start", "content_block_delta", "ping"]),
                          st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)),
                max_size=12),
       st.sampled_from(["\n", "\r\n", "\r"]), st.data())
def test_server_sent_events_read_the_same_however_the_bytes_are_cut(events, newline, data):
    stream = "".join(f"event: {name}{newline}: a comment{newline}data: {json.dumps(text)}{newline}{newline}"
                     for name, text in events).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    got = [(name, json.loads(body)) for name, body in sse_events(pieces)]
    assert got == events


def test_one_event_past_the_cap_is_refused_not_buffered_on():
    with pytest.raises(EventTooLarge):
        list(sse_events([b"data: " + b"x" * 1024] * 20, limit=8 * 1024))
