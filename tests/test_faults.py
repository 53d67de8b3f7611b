"""Provider faults: each is retried or failed over; no crash, no lost turn, and never a tool run
twice because a stream was retried. Full sessions against the scripted server, real SDKs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcli.config import Settings
from agentcli.events import Emitter
from agentcli.library.archive import read_events
from agentcli.session import Session
from agentcli.testing import wire
from agentcli.testing.fault_runs import LEDGER, provider_env, recorded_sleeps, trial
from agentcli.testing.faults import ALL_KINDS, RandomFaults
from agentcli.testing.scripted_server import ScriptedRequest, ScriptedServer, Turn

PROVIDERS = ["anthropic", "openai"]
TIMEOUT_S = 0.5


def _session_run(server: ScriptedServer, workspace: Path, model: str, fallback: list[str] | None = None):
    """One headless session in this process; back-off waits are recorded, not slept."""
    waits: list[float] = []
    with provider_env(server), recorded_sleeps(waits):
        session = Session.create(Settings(workspace=workspace, model=model, fallback=fallback or [],
                                          request_timeout=TIMEOUT_S), Emitter())
        session.chain._sleep = waits.append
        outcome = session.run("append the marker")
        session.close()
    return outcome, list(read_events(session.archive.path)), waits


def _marker_turns(fault: dict) -> list[Turn]:
    return [Turn(text="Appending.", tool_calls=[{"name": "shell", "arguments": {
        "command": f"echo marker >> {LEDGER}"}}], **fault),
        Turn(text="Done.")]


def _first_request_faulty(turns: list[Turn]):
    """The first request gets turn 0 with its fault; every later one the healthy script."""
    seen = []

    def respond(req):
        seen.append(req)
        turn = turns[min(req.assistant_turns, len(turns) - 1)]
        return turn if len(seen) == 1 else Turn(text=turn.text, tool_calls=turn.tool_calls)

    return respond


def _tool_block_complete_index(provider: str, turn: Turn) -> int:
    """The index of the first event after the tool call's arguments are complete."""
    request = ScriptedRequest(provider, "/", {"stream": True}, {})
    events = wire.sse_events(provider, turn, "m", request)
    marker = b"content_block_stop" if provider == "anthropic" else b'"finish_reason": "tool_calls"'
    last = max(i for i, e in enumerate(events) if marker in e)
    return last + 1 if provider == "anthropic" else last  # openai: cut before the finish chunk


FAULTS = {
    "429 without retry-after": {"status": 429},
    "500": {"status": 500},
    "529 overloaded": {"status": 529},
    "error event mid-stream": {"stream_error": "Overloaded"},
    "event that is not JSON": {"corrupt_event": 3},
    "invalid JSON body": {"invalid_json": True},
    "stream cut at the start": {"drop_after": 1},
    "timeout before any answer": {"delay": TIMEOUT_S + 0.3},
    "stall mid-stream": {"stall_after": 3, "stall_s": TIMEOUT_S + 0.3},
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_is_retried_and_the_tool_runs_once(provider, name, server, workspace):
    srv = server(_first_request_faulty(_marker_turns(FAULTS[name])))
    outcome, events, _ = _session_run(srv, workspace, f"{provider}/m")
    assert (outcome.stop_reason, outcome.result) == ("done", "Done.")
    assert (workspace / LEDGER).read_text() == "marker\n"
    assert [e["type"] for e in events].count("assistant") == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_cut_after_the_tool_call_arrived_does_not_run_it_twice(provider, server, workspace):
    turns = _marker_turns({})
    turns[0].drop_after = _tool_block_complete_index(provider, turns[0])
    srv = server(_first_request_faulty(turns))
    outcome, events, waits = _session_run(srv, workspace, f"{provider}/m")
    assert outcome.stop_reason == "done"
    assert (workspace / LEDGER).read_text() == "marker\n"
    errors = [e for e in events if e["type"] == "error"]
    assert [(e["kind"], e["action"]) for e in errors] == [("connection", "retry")]
    # The half-received reply was never recorded: the archive holds each turn once.
    assert [e["type"] for e in events if e["type"] != "session_start"] == \
        ["user", "error", "assistant", "tool_call", "tool_result", "assistant", "run_end"]
    assert len(srv.requests) == 3 and waits == [1.0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_is_honoured(provider, server, workspace):
    # A 429 that lasts past the SDK's own retries: the chain waits what the server asked.
    srv = server([Turn(status=429, retry_after=7, fail_times=3), Turn(text="ok")])
    outcome, events, waits = _session_run(srv, workspace, f"{provider}/m")
    assert outcome.stop_reason == "done" and len(srv.requests) == 4
    assert waits == [7.0, 7.0, 7.0]  # two by the SDK, one by the chain
    assert [e["kind"] for e in events if e["type"] == "error"] == ["rate_limit"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_that_stays_down_fails_over_to_the_next(provider, server, workspace):
    other = "openai" if provider == "anthropic" else "anthropic"

    def respond(req):
        if req.provider == provider:
            return Turn(status=503, error_message="down for maintenance")
        return _marker_turns({})[min(req.assistant_turns, 1)]

    srv = server(respond)
    outcome, events, _ = _session_run(srv, workspace, f"{provider}/m", [f"{other}/m"])
    assert (outcome.stop_reason, outcome.result) == ("done", "Done.")
    switches = [e for e in events if e["type"] == "model_switch"]
    assert [(s["old"], s["new"]) for s in switches] == [(f"{provider}/m", f"{other}/m")]
    assert (workspace / LEDGER).read_text() == "marker\n"


def test_when_every_provider_fails_the_cli_stops_with_one_line(server, cli, workspace):
    srv = server([Turn(status=529, retry_after=0.01, error_message="Overloaded")])
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--fallback", "openai/m")
    assert proc.returncode == 1 and result["stop_reason"] == "error" and result["is_error"]
    assert "overloaded (529)" in result["result"] or "server error (529)" in result["result"]
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("agentcli: stopped (error): ")
    assert last.endswith(f"to go on: agentcli run --resume {result['session_id']} -C {workspace}")
    archive = next((workspace / ".agentcli").rglob("events.jsonl"))
    assert [e["type"] for e in read_events(archive)][-1] == "run_end"


def test_random_faults_are_reproducible_by_seed():
    def draws(seed):
        faults = RandomFaults([Turn(text="hello there, a reply long enough to stream")],
                              rate=0.5, seed=seed, timeout_s=1.0)
        req = ScriptedRequest("anthropic", "/v1/messages", {"stream": True, "messages": []}, {})
        return [json.dumps(faults(req).__dict__, sort_keys=True, default=str) for _ in range(200)]

    assert draws(3) == draws(3) and draws(3) != draws(4)


@pytest.mark.slow
def test_a_thousand_requests_with_random_faults_lose_nothing(tmp_path):
    tally = trial(tmp_path, requests=1000, seed=20240611, rate=0.3, timeout_s=TIMEOUT_S,
                  cli_runs=4)
    figures = {k: v for k, v in tally.__dict__.items() if k not in ("waits_s", "problems")}
    assert tally.requests >= 1000, figures
    assert set(tally.injected) == set(ALL_KINDS) and min(tally.injected.values()) >= 5, figures
    assert tally.crashes == 0, tally.problems
    assert tally.lost_turns == 0 and tally.duplicated_turns == 0, tally.problems
    assert tally.duplicated_executions == 0 and tally.lost_executions == 0, tally.problems
    assert tally.unrecorded_executions == 0 and tally.broken_archives == 0, tally.problems
    assert tally.switches >= tally.outage_runs > 0, figures  # outages were survived by failover
    assert tally.completed + tally.gave_up == tally.runs + tally.cli_runs, tally.problems
    assert tally.tool_executions > 500, figures
