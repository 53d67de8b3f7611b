"""MCP servers end to end: a real server written with the SDK (tests/mcp_servers/probe.py),
started over stdio and over streamable HTTP on 127.0.0.1, its tools called through
`agentcli run` by the scripted model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn

PROBE = str(Path(__file__).parent / "mcp_servers" / "probe.py")


def _call_then_echo(tool: str, arguments: dict | None = None):
    """A responder that calls `tool` once, then answers with the last tool result."""

    def respond(req):
        if req.assistant_turns == 0:
            return Turn(tool_calls=[{"name": tool, "arguments": arguments or {}}])
        return Turn(text="Answer: " + req.tool_results()[-1])

    return respond


def _mcp_json(workspace: Path, servers: dict) -> Path:
    path = workspace / ".mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}, indent=2))
    return path


def _probe(*extra: str, **entry) -> dict:
    return {"command": sys.executable, "args": [PROBE, *extra], **entry}


def _user_config(tmp_path: Path, text: str) -> dict[str, str]:
    """An XDG_CONFIG_HOME whose agentcli/config.toml holds `text`."""
    home = tmp_path / "xdg"
    (home / "agentcli").mkdir(parents=True, exist_ok=True)
    (home / "agentcli" / "config.toml").write_text(text)
    return {"XDG_CONFIG_HOME": str(home)}


def test_workspace_server_is_called_with_trust_project(server, cli, workspace, tmp_path):
    started = tmp_path / "started.txt"
    _mcp_json(workspace, {"probe": _probe("--started", str(started))})
    srv = server(_call_then_echo("mcp__probe__reverse", {"text": "hello mcp"}))
    result, proc = cli(srv).json("run", "Reverse it", "-C", str(workspace), "--model", "anthropic/m",
                                 "--trust-project")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "Answer: reversed: pcm olleh"
    assert started.read_text().startswith("started ")
    tools = {t["name"]: t for t in srv.requests[0].body["tools"]}
    spec = tools["mcp__probe__reverse"]  # the server's own description and JSON schema
    assert spec["description"].startswith("Reverse a piece of text.")
    assert spec["input_schema"]["properties"]["text"]["type"] == "string"
    assert spec["input_schema"]["required"] == ["text"]
    assert {"mcp__probe__notes", "mcp__probe__crash", "grep", "shell"} <= set(tools)


def test_untrusted_workspace_server_does_not_start(server, cli, workspace, tmp_path):
    started = tmp_path / "started.txt"
    _mcp_json(workspace, {"probe": _probe("--started", str(started))})
    srv = server([Turn(text="no tools needed")])
    result, proc = cli(srv).json("run", "hi", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0, proc.stderr
    assert not started.exists()
    assert not any(n.startswith("mcp__") for n in srv.requests[0].tool_names)
    lines = [ln for ln in proc.stderr.splitlines() if ".mcp.json" in ln]
    assert len(lines) == 1
    assert "not starting probe" in lines[0] and "agentcli trust" in lines[0] and "--trust-project" in lines[0]


@pytest.mark.slow
def test_trust_records_the_file_and_a_changed_file_needs_it_again(server, cli, workspace, tmp_path):
    started = tmp_path / "started.txt"
    _mcp_json(workspace, {"probe": _probe("--started", str(started))})
    env = _user_config(tmp_path, "# my settings\nmodel = \"anthropic/m\"\n")
    run = cli(server(_call_then_echo("mcp__probe__reverse", {"text": "ab"})), **env)
    proc = run("trust", "-C", str(workspace))
    assert proc.returncode == 0, proc.stderr
    config = (tmp_path / "xdg" / "agentcli" / "config.toml").read_text()
    assert config.startswith("# my settings\nmodel = \"anthropic/m\"\n")  # the rest kept as it was
    assert f'[projects."{workspace}"]' in config and "mcp_json_sha256" in config
    result, proc = run.json("run", "go", "-C", str(workspace))
    assert result["result"] == "Answer: reversed: ba", proc.stderr
    assert started.exists()
    started.unlink()
    _mcp_json(workspace, {"probe": _probe("--started", str(started), env={"CHANGED": "1"})})
    result, proc = run.json("run", "go", "-C", str(workspace))
    assert not started.exists() and "not trusted" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_probe():
    """The probe serving streamable HTTP on 127.0.0.1; yields its URL."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, PROBE, "--http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_http_server_from_mcp_config_in_stream_json(server, cli, workspace, tmp_path, http_probe):
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"web": {"type": "http", "url": http_probe,
                                                         "headers": {"X-Probe": "1"}}}}))
    srv = server(_call_then_echo("mcp__web__reverse", {"text": "over http"}))
    proc = cli(srv)("run", "go", "-C", str(workspace), "--model", "openai/m", "--mcp-config",
                    str(config), "--output-format", "stream-json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    call = next(e for e in events if e["type"] == "tool_call")
    result = next(e for e in events if e["type"] == "tool_result")
    assert call["name"] == "mcp__web__reverse" and call["arguments"] == {"text": "over http"}
    assert result["content"] == "reversed: ptth revo" and result["is_error"] is False
    assert events[-1]["result"] == "Answer: reversed: ptth revo"


def test_a_server_that_crashes_mid_call_is_a_tool_error(server, cli, workspace):
    _mcp_json(workspace, {"probe": _probe()})
    srv = server(_call_then_echo("mcp__probe__crash"))
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--trust-project")
    assert proc.returncode == 0 and result["is_error"] is False, proc.stderr
    assert result["result"].startswith("Answer: error: MCP server 'probe' closed the connection")
    assert "its stderr ends: probe: crashing now" in result["result"]


@pytest.mark.slow
def test_a_server_that_hangs_times_out_as_a_tool_error(server, cli, workspace, tmp_path):
    env = _user_config(tmp_path, f'[mcp_servers.probe]\ncommand = {json.dumps(sys.executable)}\n'
                                 f'args = [{json.dumps(PROBE)}]\ntool_timeout_sec = 2\n')
    srv = server(_call_then_echo("mcp__probe__hang"))
    started = time.monotonic()
    result, proc = cli(srv, **env).json("run", "go", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == ("Answer: error: MCP server 'probe' gave no answer within 2s "
                                "(tool_timeout_sec)")
    assert time.monotonic() - started < 60


def test_a_server_that_fails_to_start_is_one_line_and_the_run_goes_on(server, cli, workspace):
    _mcp_json(workspace, {"broken": {"command": sys.executable, "args": ["-c", "import sys; "
                                     "sys.stderr.write('cannot load plugin\\n'); sys.exit(1)"]},
                          "missing": {"command": "/no/such/program"}})
    srv = server([Turn(text="fine without it")])
    result, proc = cli(srv).json("run", "hi", "-C", str(workspace), "--model", "anthropic/m",
                                 "--trust-project")
    assert proc.returncode == 0 and result["result"] == "fine without it"
    broken = [ln for ln in proc.stderr.splitlines() if "'broken'" in ln]
    missing = [ln for ln in proc.stderr.splitlines() if "'missing'" in ln]
    assert len(broken) == 1 and "did not start" in broken[0] and "cannot load plugin" in broken[0]
    assert len(missing) == 1 and "no such program" in missing[0]
    assert "Traceback" not in proc.stderr


def test_a_bad_mcp_json_is_one_line_naming_file_and_line(server, cli, workspace):
    (workspace / ".mcp.json").write_text('{\n  "mcpServers": {\n    "probe": {"command": }\n  }\n}\n')
    srv = server([Turn(text="still here")])
    result, proc = cli(srv).json("run", "hi", "-C", str(workspace), "--model", "anthropic/m",
                                 "--trust-project")
    assert proc.returncode == 0 and result["result"] == "still here"
    lines = [ln for ln in proc.stderr.splitlines() if ".mcp.json" in ln]
    assert len(lines) == 1 and f"{workspace / '.mcp.json'}:3: not valid JSON" in lines[0]


@pytest.mark.slow
def test_results_are_redacted_images_kept_and_resources_shown(server, cli, workspace, tmp_path):
    secret = "probe-secret-value-8f3a9c2e71"
    _mcp_json(workspace, {"probe": _probe(env={"PROBE_TOKEN": "${PROBE_TOKEN}"})})

    def respond(req):
        calls = ["mcp__probe__env", "mcp__probe__picture", "mcp__probe__notes"]
        if req.assistant_turns < len(calls):
            arguments = {"name": "PROBE_TOKEN"} if req.assistant_turns == 0 else {}
            return Turn(tool_calls=[{"name": calls[req.assistant_turns], "arguments": arguments}])
        return Turn(text="\n".join(req.tool_results()))

    srv = server(respond)
    result, proc = cli(srv, PROBE_TOKEN=secret).json("run", "go", "-C", str(workspace), "--model",
                                                     "anthropic/m", "--trust-project")
    assert proc.returncode == 0, proc.stderr
    env_result, picture, notes = result["result"].split("\n", 2)
    assert secret not in proc.stdout and secret not in env_result and "PROBE_TOKEN" in env_result
    assert picture.startswith("[image: image/png, 24 bytes, saved to ")
    saved = picture.split("saved to ", 1)[1].rstrip("]")
    assert (workspace / saved).read_bytes().startswith(b"\x89PNG")
    assert notes == "[resource probe://notes]\nthe note says 42"
    archives = list((workspace / ".agentcli").rglob("*.jsonl"))
    assert archives and all(secret not in a.read_text() for a in archives)


def test_readonly_approval_runs_only_read_only_tools(server, cli, workspace):
    _mcp_json(workspace, {"probe": _probe()})

    def respond(req):
        if req.assistant_turns == 0:
            return Turn(tool_calls=[{"name": "mcp__probe__reverse", "arguments": {"text": "x"}},
                                    {"name": "mcp__probe__notes", "arguments": {}}])
        return Turn(text=" | ".join(req.tool_results()))

    srv = server(respond)
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--trust-project", "--approval", "readonly")
    refused, notes = result["result"].split(" | ")
    assert "not run: approval is readonly" in refused
    assert notes.endswith("the note says 42")


def test_small_models_see_the_lean_description(server, cli, workspace):
    _mcp_json(workspace, {"probe": _probe()})
    srv = server([Turn(text="ok")])
    proc = cli(srv, AGENTCLI_LEAN="1")("run", "hi", "-C", str(workspace), "--model", "openai/m",
                                         "--trust-project")
    assert proc.returncode == 0, proc.stderr
    tools = {t["function"]["name"]: t["function"] for t in srv.requests[0].body["tools"]}
    assert tools["mcp__probe__reverse"]["description"] == "Reverse a piece of text."
    assert tools["mcp__probe__reverse"]["parameters"]["required"] == ["text"]


@pytest.mark.slow
def test_mcp_add_writes_the_user_config_and_list_shows_the_tools(cli, workspace, tmp_path):
    env = _user_config(tmp_path, "# keep me\n")
    run = cli(None, **env)
    proc = run("mcp", "add", "probe", "--env", "A=1", "--", sys.executable, PROBE)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "xdg" / "agentcli" / "config.toml").read_text()
    assert text.startswith("# keep me\n") and "[mcp_servers.probe]" in text
    assert 'env = { A = "1" }' in text
    proc = run("mcp", "list", "-C", str(workspace))
    assert proc.returncode == 0, proc.stderr
    assert "probe  stdio" in proc.stdout and "running: 7 tool(s)" in proc.stdout
    assert "mcp__probe__reverse  Reverse a piece of text." in proc.stdout
    _mcp_json(workspace, {"other": _probe()})
    proc = run("mcp", "list", "-C", str(workspace))
    assert "other  (" in proc.stdout and "not started: the workspace is not trusted" in proc.stdout


def test_a_bad_server_entry_in_the_config_is_one_line(cli, workspace, tmp_path):
    env = _user_config(tmp_path, "[mcp_servers.probe]\nargs = [\"x\"]\n")
    proc = cli(None, **env)("run", "hi", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 2
    path = tmp_path / "xdg" / "agentcli" / "config.toml"
    assert proc.stderr.strip() == (f"agentcli: error: {path}:1: mcp_servers.probe: needs either "
                                   "command (a program to start) or url (streamable HTTP)")
    assert os.path.exists(path)


def test_chat_resume_and_bare_agentcli_take_the_mcp_flags(cli, tmp_path):
    """The chat front ends read --mcp-config and --trust-project like run (the flag reaches the
    settings: a missing file is the same one-line error)."""
    missing = tmp_path / "missing.json"
    for command in (["chat"], ["resume"], []):
        proc = cli()(*command, "--mcp-config", str(missing), "--trust-project", timeout=60)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        assert f"--mcp-config: no such file: {missing}" in proc.stderr, proc.stderr
