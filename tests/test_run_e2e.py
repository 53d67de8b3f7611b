"""`agentcli run` end to end: the real CLI, the real SDKs, a scripted server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from agentcli.sandbox import probe
from agentcli.testing.scripted_server import Turn

PROVIDERS = ["anthropic", "openai"]


def _answer_from_last_result(prefix: str = "Answer: "):
    """A responder that calls grep first, then answers with the last tool result it was sent."""

    def respond(req):
        if req.assistant_turns == 0:
            return Turn(text="Let me search.",
                        tool_calls=[{"name": "grep", "arguments": {"pattern": "TIMEOUT_SECONDS"}}])
        return Turn(text=prefix + req.tool_results()[-1])

    return respond


@pytest.mark.parametrize("provider", PROVIDERS)
def test_grep_then_answer_from_the_hit(provider, server, cli, workspace):
    srv = server(_answer_from_last_result())
    result, proc = cli(srv).json("run", "What is the timeout?", "-C", str(workspace),
                                 "--model", f"{provider}/test-model")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "Answer: src/app.py:4: TIMEOUT_SECONDS = 37"
    assert result["is_error"] is False and result["stop_reason"] == "done"
    assert result["num_turns"] == 2
    assert result["model"] == f"{provider}/test-model"
    assert result["usage"]["input_tokens"] > 0 and result["usage"]["output_tokens"] > 0
    assert set(result["usage"]) == {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                    "cache_creation_input_tokens"}
    assert result["cost_usd"] is None  # no price is known for "test-model"
    assert result["duration_s"] >= 0 and result["session_id"]
    # The SDK streamed: every request asked for SSE.
    assert all(r.stream for r in srv.requests) and {r.provider for r in srv.requests} == {provider}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_text_output_answer_on_stdout_progress_on_stderr(provider, server, cli, workspace):
    srv = server(_answer_from_last_result())
    proc = cli(srv)("run", "What is the timeout?", "-C", str(workspace), "--model", f"{provider}/m")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "Answer: src/app.py:4: TIMEOUT_SECONDS = 37"
    assert "grep pattern='TIMEOUT_SECONDS'" in proc.stderr


def test_stream_json_prints_one_event_per_line(server, cli, workspace):
    srv = server(_answer_from_last_result())
    proc = cli(srv)("run", "timeout?", "-C", str(workspace), "--model", "anthropic/m",
                    "--output-format", "stream-json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds == ["system", "assistant", "tool_call", "tool_result", "assistant", "result"]
    assert events[2]["name"] == "grep" and events[2]["arguments"] == {"pattern": "TIMEOUT_SECONDS"}
    assert "TIMEOUT_SECONDS = 37" in events[3]["content"]
    assert events[-1]["result"].endswith("TIMEOUT_SECONDS = 37") and events[-1]["is_error"] is False


def test_prompt_from_stdin(server, cli, workspace):
    srv = server([Turn(text="ok")])
    proc = cli(srv)("run", "-", "-C", str(workspace), "--model", "openai/m", input="from stdin\n")
    assert proc.returncode == 0
    assert srv.requests[0].last_user_text() == "from stdin\n"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_edit_changes_the_file(provider, server, cli, workspace):
    srv = server([
        Turn(tool_calls=[{"name": "edit", "arguments": {
            "path": "src/app.py", "old": "TIMEOUT_SECONDS = 37", "new": "TIMEOUT_SECONDS = 60"}}]),
        Turn(text="Changed the timeout to 60."),
    ])
    result, proc = cli(srv).json("run", "set timeout to 60", "-C", str(workspace),
                                 "--model", f"{provider}/m")
    assert proc.returncode == 0, proc.stderr
    assert "TIMEOUT_SECONDS = 60" in (workspace / "src" / "app.py").read_text()
    assert "edited src/app.py" in srv.requests[1].tool_results()[-1]


def test_shell_timeout_kills_the_command_and_the_run_goes_on(server, cli, workspace):
    srv = server([
        Turn(tool_calls=[{"name": "shell", "arguments": {"command": "sleep 30 & sleep 30",
                                                         "timeout": 1}}]),
        Turn(text="It timed out."),
    ])
    result, proc = cli(srv).json("run", "run it", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0
    assert result["duration_s"] < 20
    assert "timed out after 1s" in srv.requests[1].tool_results()[-1]


MALFORMED = [
    ({"name": "no_such_tool", "arguments": {}}, "unknown tool 'no_such_tool'"),
    ({"name": "grep", "arguments": "{\"pattern\": \"x\""}, "could not parse"),
    ({"name": "read", "arguments": {"path": 12}}, "argument 'path' must be string"),
    ({"name": "edit", "arguments": {"path": "src/app.py"}}, "missing required argument(s): old, new"),
    ({"name": "shell", "arguments": {"command": "true", "timeout": "soon"}}, "must be integer"),
    ({"name": "read", "arguments": {"path": "../../etc/passwd"}}, "outside the workspace"),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("call,expected", MALFORMED, ids=[m[1][:20] for m in MALFORMED])
def test_malformed_tool_call_goes_back_as_an_error_and_the_loop_continues(
        provider, call, expected, server, cli, workspace):
    srv = server([Turn(tool_calls=[call]), Turn(text="recovered")])
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", f"{provider}/m")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "recovered"
    sent_back = srv.requests[1].tool_results()[-1]
    assert sent_back.startswith("error:") and expected in sent_back
    if provider == "anthropic":  # the SDK's wire marks it as an error result
        blocks = [b for m in srv.requests[1].messages if isinstance(m["content"], list)
                  for b in m["content"] if b.get("type") == "tool_result"]
        assert blocks[-1]["is_error"] is True


def test_max_turns_stops_with_a_reason(server, cli, workspace):
    srv = server([Turn(tool_calls=[{"name": "glob", "arguments": {"pattern": "*.py"}}])])
    result, proc = cli(srv).json("run", "loop forever", "-C", str(workspace), "--model", "openai/m",
                                 "--max-turns", "3")
    assert proc.returncode == 1
    assert result["stop_reason"] == "max_turns" and result["is_error"] is True
    assert result["num_turns"] == 3 and len(srv.requests) == 3
    assert "--max-turns 3" in proc.stderr


@pytest.mark.parametrize("provider,var", [("anthropic", "ANTHROPIC_API_KEY"),
                                          ("openai", "OPENAI_API_KEY")])
def test_missing_key_is_one_line_naming_the_variable(provider, var, cli, workspace):
    proc = cli()("run", "hi", "-C", str(workspace), "--model", f"{provider}/m")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and var in lines[0] and "Traceback" not in proc.stderr


def test_provider_error_ends_the_run_with_a_one_line_reason(server, cli, workspace):
    srv = server([Turn(status=401, error_message="invalid x-api-key")])
    result, proc = cli(srv).json("run", "hi", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 1 and result["stop_reason"] == "error"
    assert "authentication failed (401)" in result["result"]
    assert "Traceback" not in proc.stderr


def test_base_url_flag_reaches_an_openai_compatible_server(server, cli, workspace):
    srv = server([Turn(text="from the compatible server")])
    proc = cli()("run", "hi", "-C", str(workspace), "--model", "openai/qwen-local",
                 "--base-url", srv.openai_base_url)
    assert proc.returncode == 0, proc.stderr  # no OPENAI_API_KEY needed for a local server
    assert proc.stdout.strip() == "from the compatible server"


def test_tool_calls_written_in_text_by_a_compatible_server_are_run(server, cli, workspace):
    srv = server([
        Turn(text='<tool_call>\n{"name": "read", "arguments": {"path": "src/util.py"}}\n</tool_call>'),
        Turn(text="It adds."),
    ])
    proc = cli(srv)("run", "what does util do", "-C", str(workspace), "--model", "openai/qwen")
    assert proc.returncode == 0, proc.stderr
    assert "return a + b" in srv.requests[1].tool_results()[-1]


@pytest.mark.parametrize("args,needle", [
    (["run", "x", "--output-format", "yaml"], "--output-format"),
    (["run", "x", "--model", "mystery/model"], "unknown provider"),
    (["run", "x", "-C", "/no/such/dir"], "no such folder"),
    (["run", "x", "--approval", "maybe"], "--approval"),
    (["run", "x", "--no-such-flag"], "No such option"),
])
def test_bad_usage_is_a_clear_error(args, needle, cli):
    proc = cli()(*args)
    assert proc.returncode != 0
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_version_and_help(cli):
    proc = cli()("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("agentcli ")
    proc = cli()("run", "--help")
    assert proc.returncode == 0 and "--output-format" in proc.stdout


def test_agents_md_is_appended_to_the_system_prompt(server, cli, workspace):
    (workspace / "AGENTS.md").write_text("Always answer in French.")
    (workspace / "CLAUDE.md").write_text("Ignored when AGENTS.md exists.")
    srv = server([Turn(text="oui")])
    cli(srv)("run", "hi", "-C", str(workspace), "--model", "anthropic/m")
    system = srv.requests[0].system
    assert "Always answer in French." in system and "Ignored when" not in system
    assert "You are agentcli" in system


def test_anthropic_requests_mark_the_stable_prefix_and_conversation_for_caching(
        server, cli, workspace):
    srv = server(_answer_from_last_result())
    cli(srv)("run", "timeout?", "-C", str(workspace), "--model", "anthropic/m")
    first, second = srv.requests
    assert first.body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first.body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    last_block = second.body["messages"][-1]["content"][-1]
    assert last_block["cache_control"] == {"type": "ephemeral"}
    # The second request starts with the first one's system prompt and tools, byte for byte.
    assert json.dumps(first.body["system"]) == json.dumps(second.body["system"])
    assert json.dumps(first.body["tools"]) == json.dumps(second.body["tools"])


@pytest.mark.skipif(probe()[0] is None, reason="readonly runs commands only in the sandbox")
def test_readonly_runs_a_reading_command_on_an_absolute_path_inside_the_workspace(server, cli, workspace):
    """The workspace (and --add-dir folders) are inside, whether a command names them relative or
    absolute; only what lies beyond them needs a yes that a headless run cannot get."""
    inside = workspace / "src" / "app.py"

    def respond(req):
        if req.assistant_turns == 0:
            return Turn(tool_calls=[{"name": "shell", "arguments": {"command": f"cat {inside}"}}])
        if req.assistant_turns == 1:
            return Turn(tool_calls=[{"name": "shell", "arguments": {"command": "cat /etc/hostname"}}])
        return Turn(text="Results: " + " | ".join(req.tool_results()))

    result, proc = cli(server(respond)).json("run", "read", "-C", str(workspace), "--model",
                                             "openai/m", "--approval", "readonly")
    assert proc.returncode == 0, proc.stderr
    first, second = result["result"].removeprefix("Results: ").split(" | ")
    assert "TIMEOUT_SECONDS = 37" in first
    assert second.startswith("error: not run") and "no terminal to ask" in second
