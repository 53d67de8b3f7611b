"""Slash commands in the chat, each doing what /help says it does."""

from __future__ import annotations

import pytest

from agentcli.testing.scripted_server import Turn
from chat_pty import open_chat_fixture

pytestmark = [pytest.mark.tty, pytest.mark.slow]

open_chat = pytest.fixture(open_chat_fixture)

ALL = ("/help", "/model", "/compact", "/memory", "/sessions", "/resume", "/cost", "/context",
       "/permissions", "/clear", "/exit")


def test_help_lists_every_command_and_the_keys(server, open_chat):
    chat = open_chat(server([Turn(text="x")]))
    chat.line("/help")
    seen = chat.ready()
    for name in ALL:
        assert name in seen
    assert "Alt-Enter" in seen and "Ctrl-C" in seen


def test_unknown_command_gets_a_hint(server, open_chat):
    srv = server([Turn(text="x")])
    chat = open_chat(srv)
    chat.line("/modle")
    assert "unknown command /modle — did you mean /model?" in chat.ready()
    assert not srv.requests  # nothing went to the model


def test_a_path_is_a_prompt_not_a_command(server, open_chat):
    srv = server([Turn(text="It is there.")])
    chat = open_chat(srv)
    chat.line("/usr/bin/env is missing?")
    assert "It is there." in chat.ready()
    assert srv.requests[0].last_user_text() == "/usr/bin/env is missing?"


def test_model_shows_and_switches_mid_session(server, open_chat):
    srv = server([Turn(text="first answer"), Turn(text="second answer")])
    chat = open_chat(srv)
    chat.line("/model")
    assert "model: anthropic/test-model" in chat.ready()
    chat.line("hello")
    chat.ready()
    chat.line("/model openai/other-model")
    assert "openai/other-model" in chat.ready()
    chat.line("and now?")
    assert "second answer" in chat.ready()
    last = srv.requests[-1]
    assert last.provider == "openai" and last.body["model"] == "other-model"
    # The conversation came along to the new model.
    assert any("first answer" in str(m.get("content")) for m in last.messages)


def test_model_with_a_bad_name_says_why_and_keeps_the_model(server, open_chat):
    srv = server([Turn(text="still here")])
    chat = open_chat(srv)
    chat.line("/model nosuchprovider/x")
    seen = chat.ready()
    assert "cannot switch to nosuchprovider/x" in seen and "still on anthropic/test-model" in seen
    chat.line("hello")
    assert "still here" in chat.ready()
    assert srv.requests[-1].provider == "anthropic"


def test_cost_shows_the_tokens_used(server, open_chat):
    srv = server([Turn(text="ok", usage={"input_tokens": 1234, "output_tokens": 56})])
    chat = open_chat(srv)
    chat.line("hi")
    chat.ready()
    chat.line("/cost")
    seen = chat.ready()
    assert "1,234" in seen and "56" in seen and "model calls" in seen


def test_context_shows_what_fills_the_window(server, open_chat):
    srv = server([Turn(text="an answer")])
    chat = open_chat(srv)
    chat.line("a question")
    chat.ready()
    chat.line("/context")
    seen = chat.ready()
    assert "system prompt" in seen and "total" in seen and "of 128k" in seen  # the window of an unknown model


def test_clear_starts_a_fresh_conversation(server, open_chat):
    srv = server([Turn(text="first"), Turn(text="second")])
    chat = open_chat(srv)
    chat.line("remember the word pineapple")
    chat.ready()
    chat.line("/clear")
    assert "new conversation" in chat.ready()
    chat.line("what was the word?")
    chat.ready()
    assert len(srv.requests[-1].messages) == 1
    assert "pineapple" not in str(srv.requests[-1].messages)


def test_sessions_lists_this_workspace_sessions(server, open_chat):
    srv = server([Turn(text="ok")])
    chat = open_chat(srv)
    chat.line("the first prompt of this session")
    chat.ready()
    chat.line("/sessions")
    seen = chat.ready()
    assert "the first prompt of this session" in seen and "(this one)" in seen
