"""The loop's named hook points, driven through a real session against the scripted server."""

from __future__ import annotations

import pytest

from agentcli.config import Settings
from agentcli.loop import Hooks, Host
from agentcli.policy import OpenEnded
from agentcli.session import Session
from agentcli.testing.scripted_server import Turn
from agentcli.types import Outcome
from conftest import provider_env

READ = {"name": "read", "arguments": {"path": "src/app.py"}}


@pytest.fixture
def session(server, workspace, monkeypatch):
    srv = server([Turn(tool_calls=[READ]), Turn(tool_calls=[READ | {"arguments": {"path": "README.md"}}]),
                  Turn(text="TIMEOUT_SECONDS is 37.")])
    for key, value in provider_env(srv).items():
        monkeypatch.setenv(key, value)
    made = Session.create(Settings(workspace=workspace, model="openai/m", fallback=[]))
    yield made
    made.close()


def test_a_feature_sees_every_reply_and_tool_result_in_order(session):
    seen = []
    session.hooks.on("after_reply", lambda reply: seen.append(("reply", len(reply.tool_calls))))
    session.hooks.on("after_tool", lambda call, result: seen.append(
        (call.arguments["path"], "TIMEOUT_SECONDS = 37" in result.content)))
    outcome = session.run("What is TIMEOUT_SECONDS?")
    assert outcome.stop_reason == "done" and "37" in outcome.result
    assert seen == [("reply", 1), ("src/app.py", True), ("reply", 1), ("README.md", False), ("reply", 0)]


def test_an_outcome_from_a_before_turn_hook_ends_the_run_before_the_model_is_asked(session):
    requests = []
    session.hooks.on("before_request", lambda: requests.append(len(session.context.messages)))
    session.hooks.on("before_turn", lambda: Outcome("budget", "out of budget", is_error=True)
                     if session.turns >= 1 else None)
    outcome = session.run("What is TIMEOUT_SECONDS?")
    assert outcome.stop_reason == "budget" and session.turns == 1 and requests == [1]


class OneMoreTurn:
    """A feature that keeps the run going once past the first answer, with a note in the system
    prompt and a tool of its own: what unattended runs do, in small."""

    def __init__(self) -> None:
        self.host: Host | None = None
        self.answers = 0

    def plug(self, host: Host) -> None:
        self.host = host
        host.add_note("Say the value twice.")
        host.add_tools({"progress": lambda args, ctx: None})
        host.hooks.on("after_answer", self.after_answer)

    def after_answer(self, reply):
        self.answers += 1
        if self.answers > 1:
            return Outcome("done", reply.message.content)
        self.host.add_user("Once more.")
        return None


def test_a_feature_plugs_in_through_the_host(server, workspace, monkeypatch):
    srv = server([Turn(text="37"), Turn(text="37 37")])
    for key, value in provider_env(srv).items():
        monkeypatch.setenv(key, value)
    session = Session.create(Settings(workspace=workspace, model="openai/m", fallback=[]),
                             policy=OpenEnded())  # the feature decides when the run ends
    try:
        OneMoreTurn().plug(session)
        outcome = session.run("What is TIMEOUT_SECONDS?")
    finally:
        session.close()
    assert (outcome.stop_reason, outcome.result, session.turns) == ("done", "37 37", 2)
    assert all("Say the value twice." in r.system for r in srv.requests)
    assert "progress" in srv.requests[0].tool_names and srv.requests[1].last_user_text() == "Once more."


def test_an_unknown_point_is_refused():
    with pytest.raises(ValueError, match="no hook point 'after_everything'"):
        Hooks().on("after_everything", lambda: None)
