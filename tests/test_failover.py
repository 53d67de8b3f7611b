"""Failover end to end: a provider that fails mid-session hands the same session to the next model.

The scripted server plays both providers. `anthropic/primary` is the preferred model and
`openai/backup` the next in the chain; the faults are real HTTP errors and real cut streams,
read by the official SDKs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn

CHAIN = ["--model", "anthropic/primary", "--fallback", "openai/backup"]
GREP = {"name": "grep", "arguments": {"pattern": "TIMEOUT_SECONDS"}}


def _events(workspace: Path) -> list[dict]:
    sessions = sorted((workspace / ".agentcli" / "sessions").iterdir())
    lines = (sessions[-1] / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _by_provider(primary_turn, backup_answer: str = "backup: "):
    """The primary greps on its first turn and then fails with `primary_turn`; the backup answers
    with the last tool result it was sent, which proves the context came across."""

    def respond(req):
        if req.provider == "anthropic":
            if req.assistant_turns == 0:
                return Turn(text="Searching.", tool_calls=[GREP])
            return primary_turn
        if not req.tool_results():
            return Turn(tool_calls=[GREP])
        return Turn(text=backup_answer + req.tool_results()[-1])

    return respond


FAULTS = {
    "500": Turn(status=500, error_message="internal error"),
    "429": Turn(status=429, error_message="rate limited", retry_after=0),
    "529": Turn(status=529, error_message="overloaded"),
    "drop": Turn(text="I will now answer the question in a long reply", drop_after=3),
    "stream_error": Turn(text="partial", stream_error="overloaded_error"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_run_continues_on_the_next_model_after_a_mid_session_fault(fault, server, cli, workspace):
    srv = server(_by_provider(FAULTS[fault]))
    result, proc = cli(srv).json("run", "What is the timeout?", "-C", str(workspace), *CHAIN,
                                 timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "backup: src/app.py:4: TIMEOUT_SECONDS = 37"
    assert result["model"] == "openai/backup" and result["stop_reason"] == "done"
    # The backup was handed the whole conversation: the prompt, the primary's call, its result.
    handed = next(r for r in srv.requests if r.provider == "openai")
    assert handed.last_user_text() == "What is the timeout?" or "What is the timeout?" in json.dumps(
        handed.messages)
    assert "TIMEOUT_SECONDS = 37" in handed.tool_results()[0]
    # The user sees one line about the switch.
    switch_lines = [ln for ln in proc.stderr.splitlines() if "switched model" in ln]
    assert switch_lines == [switch_lines[0]] and "anthropic/primary → openai/backup" in switch_lines[0]


def test_nothing_is_lost_from_the_archive_across_a_switch(server, cli, workspace):
    srv = server(_by_provider(FAULTS["drop"]))
    result, proc = cli(srv).json("run", "What is the timeout?", "-C", str(workspace), *CHAIN,
                                 timeout=180)
    assert proc.returncode == 0, proc.stderr
    events = _events(workspace)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "session_start" and kinds[-1] == "run_end"
    assert events[0]["chain"] == ["anthropic/primary", "openai/backup"]
    switch = next(e for e in events if e["type"] == "model_switch")
    assert (switch["old"], switch["new"]) == ("anthropic/primary", "openai/backup")
    errors = [e for e in events if e["type"] == "error"]
    assert errors and all(e["model"] == "anthropic/primary" for e in errors)
    assert errors[-1]["action"] == "switched"
    # Every turn, on either model, is in the archive in order, with the model that wrote it.
    assistants = [(e["model"], e["message"]["content"]) for e in events if e["type"] == "assistant"]
    assert assistants[0] == ("anthropic/primary", "Searching.")
    assert assistants[-1] == ("openai/backup", result["result"])
    assert kinds.index("model_switch") < kinds.index("assistant", kinds.index("tool_result"))
    results = [e for e in events if e["type"] == "tool_result"]
    assert "TIMEOUT_SECONDS = 37" in results[0]["message"]["content"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_unreachable_primary_fails_over_at_the_first_turn(server, cli, workspace):
    srv = server(_by_provider(FAULTS["500"]))
    env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}  # nothing listens on port 9
    result, proc = cli(srv).json("run", "What is the timeout?", "-C", str(workspace), *CHAIN,
                                 env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert result["model"] == "openai/backup"
    assert result["result"].endswith("TIMEOUT_SECONDS = 37")
    assert {r.provider for r in srv.requests} == {"openai"}


def test_when_every_model_fails_the_run_ends_with_one_line(server, cli, workspace):
    srv = server([Turn(status=500, error_message="down for maintenance")])
    result, proc = cli(srv).json("run", "hi", "-C", str(workspace), *CHAIN, timeout=180)
    assert proc.returncode == 1 and result["is_error"] and result["stop_reason"] == "error"
    assert "down for maintenance" in result["result"]
    assert "Traceback" not in proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.startswith("agentcli: stopped")]) == 1


def test_a_bad_request_is_not_failed_over(server, cli, workspace):
    """A request the provider rejects as malformed would be rejected by the next one too."""
    srv = server([Turn(status=400, error_message="messages: field required")])
    result, proc = cli(srv).json("run", "hi", "-C", str(workspace), *CHAIN, timeout=60)
    assert proc.returncode == 1 and "field required" in result["result"]
    assert {r.provider for r in srv.requests} == {"anthropic"}


def test_later_prompts_go_back_to_the_primary_after_its_cool_down(server, workspace, monkeypatch):
    from agentcli.config import Settings
    from agentcli.events import Emitter
    from agentcli.session import Session
    from conftest import provider_env

    seen = {"anthropic": 0}

    def respond(req):
        if req.provider == "openai":
            return Turn(text="backup answer")
        seen["anthropic"] += 1  # the SDK tries 3 times, then the chain moves on
        return Turn(status=503, error_message="unavailable") if seen["anthropic"] <= 3 else \
            Turn(text="primary answer")

    srv = server(respond)
    for key, value in provider_env(srv).items():
        monkeypatch.setenv(key, value)
    lines: list[str] = []
    settings = Settings(workspace=workspace, model="anthropic/primary", fallback=["openai/backup"],
                        cooldown_s=300.0)
    session = Session.create(settings, Emitter([lambda e: lines.append(e.kind)]))
    now = [0.0]  # the chain's clock, moved by hand: the test does not depend on how fast it runs
    monkeypatch.setattr(session.chain, "_clock", lambda: now[0])
    first = session.run("one")
    assert (first.result, session.model.name) == ("backup answer", "openai/backup")
    now[0] += 299.0
    assert session.run("still resting").result == "backup answer"
    now[0] += 2.0
    second = session.run("two")
    assert (second.result, session.model.name) == ("primary answer", "anthropic/primary")
    switches = [json.loads(line) for line in (session.dir / "events.jsonl").read_text().splitlines()]
    switches = [(e["old"], e["new"]) for e in switches if e["type"] == "model_switch"]
    assert switches == [("anthropic/primary", "openai/backup"), ("openai/backup", "anthropic/primary")]
    assert lines.count("model_switch") == 2
