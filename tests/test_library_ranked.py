"""Ranked search over the library: the words a model would use find facts written in other
words, through the real `memory_search` tool and `agentcli memory search`; the index file it
uses is incremental, rebuilt when missing or corrupt, redacted, and spans every session."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from agentcli.testing.scripted_server import Turn

# (sentence planted in a file, the query a model would write, what the hit must show)
FACTS = [
    ("The nightly backup job uploads archives to the bucket s3://acme-vault-eu every night at 02:00.",
     "nightly backups uploaded where", "acme-vault-eu"),
    ("Webhook signatures use HMAC-SHA256 over the raw request body with the shared secret.",
     "webhook signature verification", "HMAC-SHA256"),
    ("Database migrations are applied by the deploy script before the new containers start.",
     "when do migrations get applied", "deploy script"),
    ("Rate limiting allows 120 requests per minute for each API client.",
     "rate limit requests client", "120 requests"),
    ("Feature flags are read from flags.yaml at startup and cached for five minutes.",
     "feature flag caching", "flags.yaml"),
    ("Payment retries stop after 4 failed attempts, then the invoice is marked overdue.",
     "failed payment retry attempts", "4 failed attempts"),
    ("Log files rotate daily and are kept for 14 days under /var/log/acme.",
     "log rotation retention days", "14 days"),
    ("Staging deploys are triggered by merging into the release branch.",
     "how is staging deployed", "release branch"),
]
# Sentences sharing a word or two with the queries, so a query must weigh all its words.
DISTRACTORS = [
    "The weekly report job emails a summary to the team.", "Nightly builds publish wheels to the index.",
    "Email signatures include the team logo.", "Upload limits are 10 MB per file.",
    "Backup power for the office is tested monthly.", "The API client is generated from openapi.json.",
    "Feature requests go to the product board.", "Payment providers are listed in providers.md.",
    "Log level defaults to INFO.", "Staging has two replicas.", "The deploy script prints its version.",
    "Requests time out after 30 seconds.", "Migrations live in db/migrations.",
]


def make_notes(workspace: Path, count: int = 60) -> dict[int, int]:
    """Notes files under notes/, one per turn; file k holds FACTS[i] for {k: i}."""
    (workspace / "notes").mkdir()
    planted = {5 + 7 * i: i for i in range(len(FACTS))}
    for k in range(count):
        lines = [f"{k:02d}:{i:02d} worker {i % 7} finished batch {k * 100 + i} in {(k * 31 + i) % 700} ms"
                 for i in range(30)]
        lines.insert(7, DISTRACTORS[k % len(DISTRACTORS)])
        lines.insert(19, DISTRACTORS[(k * 5 + 3) % len(DISTRACTORS)])
        if k in planted:
            lines.insert(13, FACTS[planted[k]][0])
        (workspace / "notes" / f"note{k:02d}.md").write_text("\n".join(lines) + "\n")
    return planted


def sixty_turn_session(server, cli, workspace) -> str:
    """A 60-turn session that reads one notes file per turn; returns its id."""
    make_notes(workspace)

    def respond(req):
        done = len(req.tool_results())
        if done < 60:
            return Turn(text=f"Reading note {done}.", tool_calls=[
                {"name": "read", "arguments": {"path": f"notes/note{done:02d}.md"}}])
        return Turn(text="Read all 60 notes.")

    result, proc = cli(server(respond)).json("run", "read every note under notes/", "-C", str(workspace),
                                             "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    assert result["num_turns"] == 61
    return result["session_id"]


def first_hit(output: str) -> tuple[str, str]:
    """(the header line, the snippet) of the first hit in memory_search's output."""
    lines = output.splitlines()
    assert len(lines) >= 3, output
    return lines[1], lines[2]


def test_the_eight_fact_paraphrase_probe_finds_every_fact_first(server, cli, workspace):
    past = sixty_turn_session(server, cli, workspace)

    def respond(req):
        if not req.tool_results():
            return Turn(tool_calls=[{"name": "memory_search", "arguments": {"query": q}} for _, q, _ in FACTS])
        return Turn(text="\n=====\n".join(req.tool_results()))

    result, proc = cli(server(respond)).json("run", "what do the notes say?", "-C", str(workspace),
                                             "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    outputs = result["result"].split("\n=====\n")
    assert len(outputs) == len(FACTS)
    for (sentence, query, shown), output in zip(FACTS, outputs):
        header, snippet = first_hit(output)
        assert f"session {past}" in header and "tool_result read notes/note" in header, (query, output)
        assert shown in snippet, (query, output)


def test_the_two_reported_misses_are_found_through_the_command_line(server, cli, workspace):
    sixty_turn_session(server, cli, workspace)
    run = cli()
    backups = run("memory", "search", "nightly backups uploaded where", "-C", str(workspace))
    assert backups.returncode == 0, backups.stderr
    assert "s3://acme-vault-eu" in first_hit(backups.stdout)[1]
    webhooks = run("memory", "search", "webhook signature verification", "-C", str(workspace))
    assert "Webhook signatures use HMAC-SHA256" in first_hit(webhooks.stdout)[1]
    # Part of a word is no word for ranked search: --exact finds it as written.
    part = run("memory", "search", "acme-vau", "--exact", "-C", str(workspace))
    assert part.returncode == 0 and "s3://acme-vault-eu" in first_hit(part.stdout)[1]


def index_rows(workspace: Path, session_id: str) -> list[tuple[int, str]]:
    """(rowid, event id) of a session's rows in the ranked index file."""
    with sqlite3.connect(workspace / ".agentcli" / "search.db") as db:
        return db.execute("SELECT rowid, eid FROM docs WHERE session = ? ORDER BY rowid",
                          (session_id,)).fetchall()


def indexed_offset(workspace: Path, session_id: str) -> int:
    with sqlite3.connect(workspace / ".agentcli" / "search.db") as db:
        return db.execute("SELECT offset FROM progress WHERE session = ?", (session_id,)).fetchone()[0]


def reader(paths: list[str], seen: list[int], workspace: Path):
    """A model that reads `paths` one per turn, noting how many rows the index holds each turn
    (from the third turn on, once it holds more than at the first: the index is updated in the
    background between turns)."""
    def respond(req):
        done = len(req.tool_results())
        db = workspace / ".agentcli" / "search.db"
        for _ in range(100):
            if not db.exists():
                break
            with sqlite3.connect(db) as conn:
                rows = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
            if not seen or done < 2 or rows > seen[0]:
                seen.append(rows)
                break
            time.sleep(0.05)
        if done < len(paths):
            return Turn(tool_calls=[{"name": "read", "arguments": {"path": paths[done]}}])
        return Turn(text="done reading")
    return respond


def test_the_index_follows_the_archive_as_it_grows_and_never_starts_over(server, cli, workspace):
    seen: list[int] = []
    first, proc = cli(server(reader(["src/app.py", "src/util.py", "README.md"], seen, workspace))).json(
        "run", "read three files", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    sid = first["session_id"]
    assert len(seen) == 4 and seen == sorted(seen) and seen[-1] > seen[0]  # rows added mid-run
    archive = workspace / ".agentcli" / "sessions" / sid / "events.jsonl"
    assert indexed_offset(workspace, sid) == archive.stat().st_size
    before = index_rows(workspace, sid)
    # The resumed conversation holds the three earlier results: the fourth read is new.
    second, proc = cli(server(reader(["src/app.py", "src/util.py", "README.md", "src/util.py"], [],
                                     workspace))).json(
        "run", "--resume", sid, "read one more", "-C", str(workspace), "--model", "openai/m")
    assert proc.returncode == 0 and second["session_id"] == sid, proc.stderr
    after = index_rows(workspace, sid)
    assert after[:len(before)] == before and len(after) > len(before)  # appended, not rebuilt
    assert len({eid for _, eid in after}) == len(after)
    assert indexed_offset(workspace, sid) == archive.stat().st_size


def test_a_missing_or_corrupt_index_is_rebuilt_from_the_archives(server, cli, workspace):
    sid = sixty_turn_session(server, cli, workspace)
    db = workspace / ".agentcli" / "search.db"
    rows = len(index_rows(workspace, sid))
    run = cli()
    for damage in ("remove", "garbage"):
        for extra in ("-wal", "-shm"):
            Path(str(db) + extra).unlink(missing_ok=True)
        if damage == "remove":
            db.unlink()
        else:
            db.write_bytes(b"this is not an SQLite file\n" * 200)
        found = run("memory", "search", "nightly backups uploaded where", "-C", str(workspace))
        assert found.returncode == 0, found.stderr
        assert "s3://acme-vault-eu" in first_hit(found.stdout)[1], damage
        assert len(index_rows(workspace, sid)) == rows, damage


def test_search_spans_every_session_unless_one_is_named(server, cli, workspace):
    (workspace / "a.txt").write_text("The nightly backup job uploads archives to s3://vault-one.\n")
    (workspace / "b.txt").write_text("Nightly backups are uploaded by cron to s3://vault-two.\n")
    ids = []
    for name in ("a.txt", "b.txt"):
        result, proc = cli(server(reader([name], [], workspace))).json(
            "run", f"read {name}", "-C", str(workspace), "--model", "openai/m")
        assert proc.returncode == 0, proc.stderr
        ids.append(result["session_id"])
    run = cli()
    both = run("memory", "search", "backup upload", "-C", str(workspace)).stdout
    assert "s3://vault-one" in both and "s3://vault-two" in both
    one = run("memory", "search", "backup upload", "--session", ids[0], "-C", str(workspace)).stdout
    assert "s3://vault-one" in one and "s3://vault-two" not in one


def test_query_syntax_of_the_index_is_plain_text_to_the_model_and_a_person(server, cli, workspace):
    sid = sixty_turn_session(server, cli, workspace)
    queries = ['"unbalanced quote', "AND OR NOT", "NEAR(x y", "flags.yaml*", "^ -", "->"]

    def respond(req):
        if not req.tool_results():
            return Turn(tool_calls=[{"name": "memory_search", "arguments": {"query": q}} for q in queries])
        return Turn(text="\n=====\n".join(req.tool_results()))

    result, proc = cli(server(respond)).json("run", "search oddly", "-C", str(workspace),
                                             "--model", "openai/m")
    assert proc.returncode == 0, proc.stderr
    outputs = result["result"].split("\n=====\n")
    assert len(outputs) == len(queries)
    for query, output in zip(queries, outputs):
        assert not output.startswith("error") and "match" in output, (query, output)
    flags = outputs[queries.index("flags.yaml*")]
    assert "flags.yaml" in first_hit(flags)[1]
    for query in queries:
        shown = cli()("memory", "search", "--session", sid, "-C", str(workspace), "--", query)
        assert shown.returncode in (0, 1) and "Traceback" not in shown.stderr, (query, shown.stderr)
