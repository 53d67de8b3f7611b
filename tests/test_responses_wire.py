"""The scripted server's Responses API (what Codex CLI speaks, for the start-up benchmark), read
back by the official OpenAI SDK's own Responses client, streamed and whole."""

from __future__ import annotations

import openai

from agentcli.testing.scripted_server import ScriptedServer, Turn

CALL = {"name": "read", "arguments": {"path": "a.py"}}


def test_a_streamed_text_and_call_come_back_whole_through_the_sdk():
    with ScriptedServer([Turn(text="pong " * 10, tool_calls=[CALL])]) as srv:
        client = openai.OpenAI(api_key="k", base_url=srv.base_url + "/v1")
        with client.responses.stream(model="m", input="ping") as stream:
            deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
    assert "".join(deltas) == "pong " * 10 and len(deltas) > 1
    assert final.output_text == "pong " * 10
    call = [item for item in final.output if item.type == "function_call"][0]
    assert (call.name, call.arguments) == ("read", '{"path": "a.py"}')
    assert srv.requests[0].provider == "responses"


def test_turns_follow_the_earlier_model_turns_in_the_input():
    with ScriptedServer([Turn(tool_calls=[CALL]), Turn(text="done")]) as srv:
        client = openai.OpenAI(api_key="k", base_url=srv.base_url + "/v1")
        first = client.responses.create(model="m", input="go")
        call = first.output[0]
        second = client.responses.create(model="m", input=[
            {"role": "user", "content": "go"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "x = 1"}])
    assert call.type == "function_call"
    assert second.output_text == "done"
