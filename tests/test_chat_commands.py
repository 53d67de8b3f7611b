"""Slash commands in the chat, each doing what /help says it does."""

from __future__ import annotations

import re

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
    assert "the first prompt of this session" in seen and " ◀" in seen  # this one is marked


def _summarising(answer: str = "Noted."):
    """A responder that answers prompts with `answer` and compaction requests with a summary."""

    def respond(req):
        if "Write the updated summary now" in req.last_user_text():
            return Turn(text="Summary: the user asked to remember the word pineapple; it was noted.")
        return Turn(text=answer)

    return respond


def test_compact_summarises_and_the_status_line_says_when(server, open_chat):
    # Answers long enough that a summary makes the window smaller (else /compact does nothing).
    srv = server(_summarising("Noted. " + " ".join(f"Point {i} of a long answer." for i in range(200))))
    chat = open_chat(srv)
    for prompt in ("remember the word pineapple", "and the number 42", "and the colour teal"):
        chat.line(prompt)
        chat.ready()
    chat.line("/compact keep the word")
    seen = chat.ready()
    assert "compacted the context" in seen
    assert "keep the word" in srv.requests[-1].last_user_text()  # the instructions reached the summary
    chat.settle()
    assert re.search(r"compacted \d+s ago", chat.text.split("/compact")[-1])  # the status line
    chat.line("what was the word?")
    chat.ready()
    assert "pineapple" in str(srv.requests[-1].messages)  # through the summary


def test_a_command_typed_during_compact_runs_after_it(server, open_chat):
    def respond(req):
        if "Write the updated summary now" in req.last_user_text():
            return Turn(text="Summary: " + " ".join(["noted"] * 30), chunk_delay=0.05)
        # Long enough answers that a summary makes the window smaller, so /compact does run.
        return Turn(text="Noted. " + " ".join(f"Point {i} of a long answer." for i in range(200)))

    srv = server(respond)
    chat = open_chat(srv)
    for prompt in ("remember the word pineapple", "and the number 42"):
        chat.line(prompt)
        chat.ready()
    chat.line("/compact")
    chat.expect("compact")
    chat.send("/model openai/other-model\r")
    seen = chat.ready()
    assert seen.index("compacted the context") < seen.index("› /model openai/other-model")
    chat.line("/model")
    assert "model: openai/other-model" in chat.ready()


def test_memory_finds_words_from_an_earlier_session(server, open_chat):
    srv = server([Turn(text="Noted.")])
    first = open_chat(srv)
    first.line("the deploy key lives in vault path secret/zebra-station")
    first.ready()
    first.line("/exit")
    assert first.exit_code() == 0

    chat = open_chat(srv)
    chat.line("/memory zebra-station")
    seen = chat.ready()
    assert "zebra-station" in seen and "session 20" in seen
    chat.line("/memory")
    assert "usage: /memory QUERY" in chat.ready()


def test_resume_command_brings_back_an_earlier_conversation(server, open_chat):
    srv = server([Turn(text="Noted the fruit.")])
    chat = open_chat(srv)
    chat.line("remember the word pineapple")
    chat.ready()
    chat.line("/clear")
    seen = chat.ready()
    old_id = seen.split("/resume ")[-1].split()[0]
    chat.line(f"/resume {old_id[:15]}")
    seen = chat.ready()
    assert "› remember the word pineapple" in seen and "Noted the fruit." in seen
    chat.line("what was the word?")
    chat.ready()
    assert "pineapple" in str(srv.requests[-1].messages)


def test_agentcli_resume_shows_earlier_turns_and_continues(server, open_chat, workspace):
    srv = server([
        Turn(tool_calls=[{"name": "shell", "arguments": {"command": "ls src"}}]),
        Turn(text="There are two files: app.py and util.py."),
        Turn(text="Yes, still two."),
    ])
    chat = open_chat(srv)
    chat.line("what is in src?")
    chat.ready()
    chat.line("/exit")
    assert chat.exit_code() == 0

    again = open_chat(srv, command="resume")
    seen = again.text
    assert "› what is in src?" in seen
    assert "● shell  ls src" in seen and "There are two files" in seen
    assert "1 earlier turn" in seen
    again.line("still?")
    again.ready()
    messages = str(srv.requests[-1].messages)
    assert "what is in src?" in messages and "There are two files" in messages


def test_resume_of_an_unknown_session_is_one_line(server, open_chat):
    chat = open_chat(server([Turn(text="x")]), "no-such-session", command="resume", wait_ready=False)
    assert chat.exit_code() == 1
    assert "agentcli: error: no session" in chat.text or "no sessions yet" in chat.text


def test_compact_on_a_one_exchange_chat_says_there_is_too_little_and_makes_no_call(server, open_chat):
    srv = server(_summarising())
    chat = open_chat(srv)
    chat.line("hello")
    chat.ready()
    calls = len(srv.requests)
    chat.line("/compact")
    seen = chat.ready()
    assert "nothing to compact" in seen and "compacted the context" not in seen
    assert len(srv.requests) == calls
