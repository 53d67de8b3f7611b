"""A small model behind an OpenAI-compatible server is steered by the same rules as the bundled
one (agentcli.local.rules): each mode becomes what the wire allows, and what the server answered
goes back to the rules as text with its calls written out. Driven against the scripted server."""

from __future__ import annotations

import json

from agentcli.local import harness, steer
from agentcli.models.base import Request
from agentcli.models.openai_chat import OpenAIModel
from agentcli.models.openai_wire import raw_text, steered_params
from agentcli.testing.scripted_server import ScriptedRequest, Turn
from agentcli.tools import load_spec
from agentcli.types import Message, ToolCall

TOOLS = [load_spec(n) for n in ("read", "grep", "glob", "edit", "write", "shell")]
SYSTEM = "You code."  # no outline of the project: the harness packs no reads of its own


def _model(srv) -> OpenAIModel:
    return OpenAIModel("qwen2.5-coder-1.5b", base_url=srv.openai_base_url, lean=True, steering=harness)


def _complete(model: OpenAIModel, messages: list[Message]):
    return model.complete(Request(system=SYSTEM, messages=messages, tools=TOOLS, max_tokens=256))


def _call(call_id: str, name: str, args: dict) -> ToolCall:
    return ToolCall(call_id, name, args, json.dumps(args))


def _after(task: str, call: ToolCall, result: str) -> list[Message]:
    """A task, one call the model made and its result."""
    return [Message(role="user", content=task), Message(role="assistant", content="", tool_calls=[call]),
            Message(role="tool", content=result, tool_call_id=call.id, name=call.name)]


def _noted(request: ScriptedRequest) -> bool:
    """Whether the request ends in a note from the harness (not the task's own turn)."""
    return request.messages[-1]["role"] == "user" and len(request.messages) > 2


def test_a_repeated_call_is_asked_again_with_the_rules_note(server):
    read = _call("call_1", "read", {"path": "src/util.py"})
    messages = _after("Explain what add does.", read, "     1\tdef add(a, b):\n     2\t    return a + b")
    srv = server(lambda req: Turn(text="add returns the sum of a and b.") if _noted(req)
                 else Turn(tool_calls=[{"name": "read", "arguments": {"path": "src/util.py"}}]))
    reply = _complete(_model(srv), messages)
    assert len(srv.requests) == 2
    note = steer.repeat_note(read, messages, insist=False)
    assert srv.requests[1].messages[-1] == {"role": "user", "content": note}
    assert not _noted(srv.requests[0])
    assert not [c for c in reply.message.tool_calls if c.name == "read"]  # the repeat does not run
    # Usage counts both requests; the window is the conversation as sent once.
    assert 0 < reply.window_tokens < reply.usage.prompt_tokens


def test_an_edit_of_a_file_it_has_not_read_becomes_the_read(server):
    listed = _call("call_1", "glob", {"pattern": "**/*.py"})
    messages = _after("Make add in src/util.py subtract.", listed, "src/app.py\nsrc/util.py")
    edit = {"path": "src/util.py", "old": "return a + b", "new": "return a - b"}
    srv = server([Turn(tool_calls=[{"name": "edit", "arguments": edit}])])
    reply = _complete(_model(srv), messages)
    assert len(srv.requests) == 1
    [call] = reply.message.tool_calls
    assert call.name == "read" and call.arguments["path"] == "src/util.py"
    assert reply.stop_reason == "tool_use"


def test_a_forced_call_asks_for_a_tool_choice_and_a_server_that_refuses_it_gets_a_plain_ask(server):
    task = [Message(role="user", content="Where is TIMEOUT_SECONDS set?")]  # a task's first reply: a call
    grep = {"name": "grep", "arguments": {"pattern": "TIMEOUT_SECONDS"}}
    srv = server([Turn(tool_calls=[grep])])
    reply = _complete(_model(srv), task)
    assert srv.requests[0].body["tool_choice"] == "required"
    assert [c.name for c in reply.message.tool_calls] == ["grep"]

    strict = server(lambda req: Turn(status=400, error_message="tool_choice is not supported")
                    if "tool_choice" in req.body else Turn(tool_calls=[grep]))
    model = _model(strict)
    reply = _complete(model, task)
    assert [c.name for c in reply.message.tool_calls] == ["grep"]
    assert ["tool_choice" in r.body for r in strict.requests] == [True, False]
    _complete(model, task)  # the session remembers: no request with it again
    assert ["tool_choice" in r.body for r in strict.requests] == [True, False, False]


def test_each_mode_is_what_the_wire_allows():
    params = {"messages": [{"role": "user", "content": "Fix it."}],
              "tools": [{"type": "function", "function": {"name": n}} for n in ("read", "edit", "write")]}
    assert steered_params(params, "free", None, ()) == params
    words = steered_params(params, "words", "In words.", ())
    # a server cannot mask the call tokens, and one that renders the tools ignores "none"
    assert "tools" not in words and "tool_choice" not in words
    assert words["messages"][-1]["content"] == "Fix it.\n\nIn words."

    named = steered_params(params, "call", None, ("edit",))
    assert named["tool_choice"] == {"type": "function", "function": {"name": "edit"}}
    some = steered_params(params, "grammar", None, ("edit", "write"))
    assert some["tool_choice"] == "required" and [t["function"]["name"] for t in some["tools"]] == ["edit", "write"]
    assert "tool_choice" not in steered_params(params, "call", "Call.", (), tool_choice=False)
    after_tool = {**params, "messages": [{"role": "tool", "tool_call_id": "c", "content": "x"}]}
    assert steered_params(after_tool, "code", "Code.", ())["messages"][-1] == {"role": "user", "content": "Code."}


def test_words_mode_shows_a_server_model_no_call_to_copy():
    """Told to answer in words, a model behind a server sees its earlier calls and their results
    as plain turns: with tool calls in the conversation it writes another one (a server cannot
    mask them), and the reply ends with no answer."""
    call = {"id": "c1", "type": "function", "function": {"name": "read", "arguments": '{"path": "a.py"}'}}
    params = {"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "Which port?"},
                           {"role": "assistant", "content": None, "tool_calls": [call]},
                           {"role": "tool", "tool_call_id": "c1", "content": "PORT = 8042"}],
              "tools": [{"type": "function", "function": {"name": "read"}}]}
    words = steered_params(params, "words", "Answer in words.", ())
    assert [m["role"] for m in words["messages"]] == ["system", "user", "assistant", "user"]
    assert not any("tool_calls" in m or m["role"] == "tool" for m in words["messages"])
    assert words["messages"][2]["content"] == 'I called read {"path": "a.py"}'
    assert words["messages"][3]["content"] == "The result of that call:\nPORT = 8042\n\nAnswer in words."
    assert steered_params(params, "free", None, ())["messages"] == params["messages"]


def test_calls_the_server_parsed_reach_the_rules_as_tagged_json_and_broken_ones_stay_broken():
    good = _call("c1", "read", {"path": "a.py"})
    bad = ToolCall("c2", "edit", None, '{"path": "a.py", "old": "x', "invalid JSON")
    text = raw_text(Message(role="assistant", content="Reading.", tool_calls=[good, bad]))
    assert text.startswith('Reading.\n<tool_call>\n{"name": "read", "arguments": {"path": "a.py"}}\n</tool_call>')
    from agentcli.models.textcalls import extract

    found = extract(raw_text(Message(role="assistant", content="", tool_calls=[bad])), {"edit"})
    assert not found.calls and found.errors


def test_a_python_block_for_a_change_becomes_the_write_of_the_file(server):
    """Right after the harness read the one file a change names, the rules ask for the whole file
    as code (the note), and the block that comes back is written."""
    read = _call("call_pack_1_0", "read", {"path": "util.py"})
    messages = _after("Make add in util.py return a - b.", read,
                      "     1\tdef add(a, b):\n     2\t    return a + b")
    srv = server([Turn(text="Subtract instead.\n```python\ndef add(a, b):\n    return a - b\n```")])
    reply = _complete(_model(srv), messages)
    asked = srv.requests[0].messages[-1]
    assert asked["role"] == "user" and "```python" in asked["content"] and "util.py" in asked["content"]
    [call] = reply.message.tool_calls
    assert call.name == "write" and call.arguments["path"] == "util.py"
    assert "return a - b" in call.arguments["content"] and "return a + b" not in call.arguments["content"]
