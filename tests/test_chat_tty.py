"""The chat in a pseudo-terminal against the scripted server: streaming, tools, diffs, Ctrl-C,
Ctrl-D, history and multi-line input, as a person at the keyboard meets them."""

from __future__ import annotations

import re

import pytest

from agentcli.testing.scripted_server import Turn
from chat_pty import ALT_ENTER, CTRL_D, UP, open_chat_fixture

pytestmark = [pytest.mark.tty, pytest.mark.slow]

open_chat = pytest.fixture(open_chat_fixture)


def test_streamed_answer_appears_as_rendered_markdown(server, open_chat):
    srv = server([Turn(text="The **timeout** is set in `src/app.py`.\n\n- first point\n- second point\n",
                       chunk_delay=0.02)])
    chat = open_chat(srv)
    chat.line("where is the timeout?")
    seen = chat.ready()
    assert "The timeout is set in src/app.py." in seen  # markdown rendered, not shown raw
    assert "**" not in seen
    assert "• first point" in seen and "• second point" in seen
    assert srv.requests[0].stream and srv.requests[0].last_user_text() == "where is the timeout?"


def test_tool_call_and_coloured_diff_render(server, open_chat, workspace):
    srv = server([
        Turn(text="Checking.", tool_calls=[{"name": "shell", "arguments": {"command": "grep -n TIMEOUT src/app.py"}}]),
        Turn(tool_calls=[{"name": "edit", "arguments": {
            "path": "src/app.py", "old": "TIMEOUT_SECONDS = 37", "new": "TIMEOUT_SECONDS = 60"}}]),
        Turn(text="Changed it to 60."),
    ])
    chat = open_chat(srv)
    chat.line("set the timeout to 60")
    seen = chat.ready()
    assert "● shell  grep -n TIMEOUT src/app.py" in seen
    assert "⎿ exit 0" in seen and "4:TIMEOUT_SECONDS = 37" in seen
    assert "● edit  src/app.py" in seen and "updated src/app.py (+1 −1)" in seen
    assert "4 - TIMEOUT_SECONDS = 37" in seen and "4 + TIMEOUT_SECONDS = 60" in seen
    # The removed line is drawn red and the added one green.
    assert re.search(r"\x1b\[[0-9;]*31m- TIMEOUT_SECONDS = 37", chat.raw)
    assert re.search(r"\x1b\[[0-9;]*32m\+ TIMEOUT_SECONDS = 60", chat.raw)
    assert "Changed it to 60." in seen
    assert "TIMEOUT_SECONDS = 60" in (workspace / "src" / "app.py").read_text()


def test_ctrl_c_during_a_slow_stream_keeps_the_partial_and_the_session(server, open_chat):
    words = " ".join(f"word{i}" for i in range(400))
    srv = server([Turn(text=words, chunk_delay=0.05), Turn(text="Second answer arrived.")])
    chat = open_chat(srv)
    chat.line("write a long text")
    chat.expect("word3 ")
    chat.interrupt()
    seen = chat.ready(timeout=20)
    assert "interrupted" in seen
    assert "word399" not in chat.text
    chat.line("continue please")
    assert "Second answer arrived." in chat.ready()
    # The model was sent the partial answer, marked as interrupted, and the new prompt.
    second = srv.requests[-1]
    assistant = [m for m in second.messages if m["role"] == "assistant"]
    partial = str(assistant[-1]["content"])
    assert "word0 word1" in partial and "[interrupted by the user]" in partial
    assert second.last_user_text() == "continue please"


def test_ctrl_c_during_a_tool_stops_it_and_tells_the_model(server, open_chat):
    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 30"}}]),
                  Turn(text="Understood, stopped.")])
    chat = open_chat(srv, "--approval", "auto")
    chat.line("wait a while")
    chat.expect("● shell  sleep 30")
    chat.expect("running shell")
    chat.interrupt()
    assert "interrupted" in chat.ready(timeout=20)
    chat.line("ok")
    assert "Understood, stopped." in chat.ready()
    results = srv.requests[-1].tool_results()
    assert any("interrupted by the user" in r for r in results)


def test_ctrl_d_leaves_and_says_how_to_resume(server, open_chat):
    srv = server([Turn(text="Hello there.")])
    chat = open_chat(srv)
    chat.line("hi")
    chat.ready()
    chat.send(CTRL_D)
    assert chat.exit_code() == 0
    assert "agentcli resume " in chat.text


def test_exit_command_leaves(server, open_chat):
    chat = open_chat(server([Turn(text="x")]))
    chat.line("/exit")
    assert chat.exit_code() == 0


def test_ctrl_c_twice_at_an_empty_prompt_leaves(server, open_chat):
    chat = open_chat(server([Turn(text="x")]))
    chat.interrupt()
    chat.expect("press Ctrl-C again")
    chat.interrupt()
    assert chat.exit_code() == 0


def test_multi_line_entry_with_backslash_and_alt_enter(server, open_chat):
    srv = server([Turn(text="got it")])
    chat = open_chat(srv)
    chat.send("first line\\")
    chat.send("\r")
    chat.send("second line")
    chat.send(ALT_ENTER)
    chat.line("third line")
    chat.ready()
    assert srv.requests[0].last_user_text() == "first line\nsecond line\nthird line"


def test_history_is_kept_across_sessions(server, open_chat, tmp_path):
    srv = server([Turn(text="answer one")])
    chat = open_chat(srv)
    chat.line("a prompt worth remembering")
    chat.ready()
    chat.line("/exit")
    assert chat.exit_code() == 0
    history = (tmp_path / "home" / "data" / "history").read_text()
    assert "a prompt worth remembering" in history

    again = open_chat(srv)
    again.send(UP)  # the last entry: /exit
    again.expect("/exit")
    again.send(UP)
    again.expect("a prompt worth remembering")
    again.send("\r")
    again.ready()
    assert srv.requests[-1].last_user_text() == "a prompt worth remembering"


def test_typed_ahead_text_waits_for_the_next_prompt(server, open_chat):
    srv = server([Turn(text=" ".join(["slow"] * 40), chunk_delay=0.05), Turn(text="second")])
    chat = open_chat(srv)
    chat.line("first")
    chat.expect("slow slow")
    chat.send("typed ahead")
    seen = chat.expect("› typed ahead")  # back in the prompt, not sent, not echoed mid-answer
    assert "typed ahead" not in seen[:-len("› typed ahead")]
    chat.send("\r")
    chat.expect("second")
    assert srv.requests[-1].last_user_text() == "typed ahead"


def test_a_failing_provider_is_one_line_and_the_chat_goes_on(server, open_chat):
    srv = server([Turn(status=401, error_message="invalid x-api-key"), Turn(text="Back again.")])
    chat = open_chat(srv)
    chat.line("hello")
    seen = chat.ready()
    assert "authentication failed (401)" in seen and "Traceback" not in chat.text
    srv.responder = lambda req: Turn(text="Back again.")
    chat.line("hello again")
    assert "Back again." in chat.ready()
    # The first prompt was kept: the next request carries both.
    sent = str(srv.requests[-1].messages)
    assert "'hello'" in sent and "'hello again'" in sent


def test_a_model_that_cannot_start_is_one_line_on_stderr(open_chat):
    chat = open_chat(None, model="nosuchprovider/x", wait_ready=False)
    assert chat.exit_code() == 1
    assert "agentcli: error: unknown provider 'nosuchprovider'" in chat.text
    assert "Traceback" not in chat.text


def test_piped_input_runs_a_transcript(server, cli, workspace, tmp_path):
    srv = server([Turn(text="Piped answer.")])
    proc = cli(srv, AGENTCLI_DATA_DIR=str(tmp_path / "data"))(
        "chat", "-C", str(workspace), "--model", "anthropic/m", input="a piped prompt\n/cost\n")
    assert proc.returncode == 0, proc.stderr
    assert "› a piped prompt" in proc.stdout and "Piped answer." in proc.stdout
    assert "model calls" in proc.stdout


def test_a_piped_transcript_is_neither_padded_nor_wrapped(server, cli, workspace, tmp_path):
    long_line = "tests/test_parse.py ...." + " " * 60 + "[100%]"
    srv = server([
        Turn(tool_calls=[{"name": "shell", "arguments": {"command": f"echo '{long_line}'"}}]),
        Turn(text="# Result\n\n" + "All the tests pass now, " * 6 + "done.\n\n---\n\nBye.")])
    proc = cli(srv, AGENTCLI_DATA_DIR=str(tmp_path / "data"))(
        "chat", "-C", str(workspace), "--model", "anthropic/m", "--approval", "auto",
        input="run the tests\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert not [ln for ln in lines if ln != ln.rstrip()]  # no padding
    assert "    " + long_line in lines  # the tool's output line kept whole
    assert "Result" in lines  # a heading flush left
    assert any(ln.startswith("All the tests pass now,") and ln.endswith("done.") for ln in lines)
    assert max(len(ln) for ln in lines) < 200


def test_chat_with_a_first_prompt_sends_it_and_stays_open(server, open_chat):
    srv = server([Turn(text="First answer."), Turn(text="Second answer.")])
    chat = open_chat(srv, "what is this project?")
    assert "› what is this project?" in chat.text and "First answer." in chat.text
    chat.line("and then?")
    assert "Second answer." in chat.ready()
    assert srv.requests[0].last_user_text() == "what is this project?"


def test_every_line_typed_ahead_runs_in_order_once(server, open_chat):
    srv = server([Turn(text=" ".join(["slow"] * 40), chunk_delay=0.05), Turn(text="on the new model")])
    chat = open_chat(srv)
    chat.line("first")
    chat.expect("slow slow")
    chat.send("/cost\r/model openai/other-model\rwhich model now?\r")
    seen = chat.ready()
    # Not echoed into the answer: each line shows only once it runs, after the answer.
    answer_end = seen.rindex("slow")
    assert "/cost" not in seen[:answer_end] and "/model" not in seen[:answer_end]
    cost, model = seen.index("› /cost"), seen.index("› /model openai/other-model")
    prompt = seen.index("› which model now?")
    assert answer_end < cost < seen.index("model calls") < model < prompt
    assert "on the new model" in seen[prompt:]
    assert seen.count("› /cost") == 1 and seen.count("› /model openai/other-model") == 1
    last = srv.requests[-1]
    assert len(srv.requests) == 2 and last.provider == "openai"
    assert last.last_user_text() == "which model now?"


def test_bare_agentcli_takes_the_chats_options(server, open_chat, workspace):
    srv = server([Turn(text="answered by the model asked for")])
    chat = open_chat(srv, "--approval", "auto", command="", model="openai/other-model")
    assert "openai/other-model" in chat.text and "approval: auto" in chat.text
    chat.line("hi")
    assert "answered by the model asked for" in chat.ready()
    assert srv.requests[-1].provider == "openai" and srv.requests[-1].body["model"] == "other-model"
