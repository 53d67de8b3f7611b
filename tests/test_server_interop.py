"""agentcli against the OpenAI-compatible servers people run locally: messages they accept, calls
written in text in forms they leave unparsed, and what happens when the server fails.

The schema check uses llama-cpp-python's own server request type (the `server` extra the test
extra installs); the end-to-end runs go through the scripted server. `test_llama_server.py` runs
the real `llama_cpp.server`.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from agentcli.models.base import Request
from agentcli.models.openai_chat import OpenAIModel
from agentcli.testing.scripted_server import Turn
from agentcli.tools import load_spec
from agentcli.types import Message, ToolCall

TOOLS = [load_spec(n) for n in ("shell", "grep", "glob", "read", "edit", "write")]


def _conversation() -> list[Message]:
    """A task with a call the server returned (its own id, no text), a call written in text that
    could not be read, and their results."""
    read = ToolCall("call_srv_7", "read", {"path": "src/app.py"}, '{"path": "src/app.py"}')
    broken = ToolCall("call_bad_1", "(unparsed)", None, '<tools><function name="edit" path="a.py',
                      "could not read the tool call: it is cut off")
    return [Message(role="user", content="Set TIMEOUT_SECONDS to 60 in src/app.py."),
            Message(role="assistant", content="", tool_calls=[read]),
            Message(role="tool", content="TIMEOUT_SECONDS = 37", tool_call_id="call_srv_7"),
            Message(role="assistant", content="Changing it.", tool_calls=[broken]),
            Message(role="tool", content="error: could not parse the tool call", tool_call_id="call_bad_1",
                    is_error=True)]


def _params(messages: list[Message]) -> dict:
    model = OpenAIModel("qwen2.5-coder-0.5b", base_url="http://127.0.0.1:9/v1", lean=True)
    return model.build_params(Request(system="You code.", messages=messages, tools=TOOLS, max_tokens=64))


def test_a_tool_using_conversation_passes_llama_cpp_servers_request_schema():
    """llama_cpp.server answered the second request of every tool-using session with HTTP 500:
    its schema allows an assistant message's content to be a string or absent, never null."""
    from llama_cpp.server.types import CreateChatCompletionRequest

    params = _params(_conversation())
    CreateChatCompletionRequest.model_validate({k: v for k, v in params.items() if k != "stream_options"})
    assert all(m.get("content", "") is not None for m in params["messages"])


def test_calls_keep_their_ids_and_results_are_strings_after_their_call():
    wire = _params(_conversation())["messages"]
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert "content" not in wire[2] and wire[2]["tool_calls"][0]["id"] == "call_srv_7"
    assert wire[3] == {"role": "tool", "tool_call_id": "call_srv_7", "content": "TIMEOUT_SECONDS = 37"}


def test_a_call_that_could_not_be_read_goes_back_as_its_text_and_its_error():
    """`(unparsed)` is no function name a strict server takes: the model sees what it wrote, then
    what was wrong with it, in the user's turn after the turn's results."""
    wire = _params(_conversation())["messages"]
    assert wire[4] == {"role": "assistant",
                       "content": 'Changing it.\n<tools><function name="edit" path="a.py'}
    assert wire[5] == {"role": "user", "content": "error: could not parse the tool call"}
    later = _params(_conversation() + [Message(role="user", content="Go on.")])["messages"]
    assert later[-1] == {"role": "user", "content": "error: could not parse the tool call\n\nGo on."}


# The forms issue 20 reports from Qwen2.5-Coder-1.5B behind llama_cpp.server (markup in <tools>,
# doubled braces; their elided arguments filled in), Qwen3-Coder's markup, a `<tool_call>` whose
# JSON is broken, and markup cut off: none may stand as the answer.
CALL_FORMS = [
    ('<tools>\n<function name="edit" path="src/app.py" old="TIMEOUT_SECONDS = 37" '
     'new="TIMEOUT_SECONDS = 60"/>\n</tools>', "edit"),
    ('{{"name": "grep", "arguments": {{"pattern": "TIMEOUT_SECONDS"}}}}', "grep"),
    ('<tool_call>\n<function=read>\n<parameter=path>\nsrc/app.py\n</parameter>\n</function>\n'
     '</tool_call>', "read"),
    ('<tool_call>\n{"name": "read", "arguments": {"path": "src/app.py" "limit": 3}}\n</tool_call>', None),
    ('<tools><function name="edit" path="src/app.py" old="TIMEOUT_SECONDS = 37', None),
]


@pytest.mark.parametrize("text,tool", CALL_FORMS, ids=["markup", "doubled braces", "qwen3 markup",
                                                      "broken tag", "cut-off markup"])
def test_a_call_written_in_text_is_run_or_sent_back_never_the_answer(text, tool, server, cli, workspace):
    # Turn 0 is the harness's: it reads src/app.py, which the task names, before asking the model.
    srv = server([Turn(text="(never asked)"), Turn(text=text), Turn(text="Done.")])
    result, proc = cli(srv).json("run", "Set TIMEOUT_SECONDS to 60 in src/app.py.", "-C", str(workspace),
                                 "--model", "openai/qwen2.5-coder-1.5b", "--approval", "auto")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "Done."
    # The steering may ask again before it settles the model's turn (code mode first, as for the
    # bundled model); the request after that turn shows what became of it.
    second = next(r for r in srv.requests if r.assistant_turns == 2).messages
    assert all(m.get("content", "") is not None for m in srv.requests[-1].messages)
    if tool is None:  # what it wrote (inside the tag, where it had one)
        written = text.strip().removeprefix("<tool_call>").removesuffix("</tool_call>").strip()
        assert second[-2] == {"role": "assistant", "content": written}
        assert second[-1]["role"] == "user" and "not valid JSON" in second[-1]["content"]
    else:
        call = second[-2]["tool_calls"][0]
        assert call["function"]["name"] == tool and second[-1]["tool_call_id"] == call["id"]
        assert not second[-1]["content"].startswith("error")
    if tool == "edit":
        assert "TIMEOUT_SECONDS = 60" in (workspace / "src" / "app.py").read_text()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_fallback_none_a_server_that_fails_is_a_failed_run(cli, workspace):
    """The user named a server model and no fallback: nothing else answers in its place."""
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    result, proc = cli().json("run", "What is TIMEOUT_SECONDS?", "-C", str(workspace),
                              "--model", "openai/qwen2.5-coder-0.5b", "--base-url", url,
                              "--fallback", "none", timeout=300)
    assert proc.returncode != 0 and result["is_error"] and result["stop_reason"] == "error"
    assert result["model"] == "openai/qwen2.5-coder-0.5b" and "cannot reach" in result["result"]
    assert "switched model" not in proc.stderr
    events = _events(workspace)
    assert not [e for e in events if e["type"] == "model_switch"]
    assert [e["message"]["content"] for e in events if e["type"] == "user"] == ["What is TIMEOUT_SECONDS?"]


def _events(workspace: Path) -> list[dict]:
    session = sorted((workspace / ".agentcli" / "sessions").iterdir())[-1]
    return [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]


def test_a_small_model_behind_a_server_gets_the_code_first_and_its_python_block_is_applied(server, cli, tmp_path):
    """The harness's own steps need no token masks: a 1.5B behind llama-server gets the failing
    command run and the files read before its first turn, its ```python block written to the file
    the traceback and the task point at, and the check run after the change."""
    (tmp_path / "stats.py").write_text("def mean(values):\n    return sum(values) / (len(values) - 1)\n")
    (tmp_path / "test_stats.py").write_text("from stats import mean\n\nassert mean([2, 4, 6]) == 4, mean([2, 4, 6])\n"
                                            "print('all tests passed')\n")
    fixed = "```python\ndef mean(values):\n    return sum(values) / len(values)\n```"
    srv = server(lambda req: Turn(text="Fixed the divisor in mean.") if any(
        r.startswith("exit code: 0") for r in req.tool_results()) else Turn(text=fixed))
    result, proc = cli(srv).json("run", "`python3 test_stats.py` fails. Fix the bug in stats.py.",
                                 "-C", str(tmp_path), "--model", "openai/qwen2.5-coder-1.5b",
                                 "--approval", "auto", "--fallback", "none")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "Fixed the divisor in mean." and len(srv.requests) == 2
    first = json.dumps(srv.requests[0].messages)
    assert "AssertionError: 6.0" in first and "(len(values) - 1)" in first  # shown before it answers
    assert (tmp_path / "stats.py").read_text() == "def mean(values):\n    return sum(values) / len(values)\n"
    assert "exit code: 0" in json.dumps(srv.requests[1].messages)  # the check ran after the change
