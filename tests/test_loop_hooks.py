"""The loop's named hook points, driven through a real session against the scripted server."""

from __future__ import annotations

import pytest

from agentcli.config import Settings
from agentcli.loop import Hooks
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


def test_an_unknown_point_is_refused():
    with pytest.raises(ValueError, match="no hook point 'after_everything'"):
        Hooks().on("after_everything", lambda: None)
