"""Ranked search over the library: the words a model would use find facts written in other
words, through the real `memory_search` tool and `agentcli memory search`; the index file it
uses is incremental, rebuilt when missing or corrupt, redacted, and spans every session."""

from __future__ import annotations

import re
import sqlite3
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
