"""The real bundled model (Qwen2.5-Coder-0.5B Q4_K_M) through llama-cpp-python, offline.

These load the GGUF the test extra installs (`agentcli[test]` pulls the 0.5B parts), so they run
in `.ci/run`. They are marked `local_model` and `slow`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from agentcli.local import assets
from agentcli.models.base import ModelError, Request
from agentcli.testing.scripted_server import Turn
from agentcli.tools import load_spec
from agentcli.types import Message

SMALL = assets.MODELS["qwen2.5-coder-0.5b"]
pytestmark = [
    pytest.mark.local_model, pytest.mark.slow,
    pytest.mark.skipif(not assets.runtime_available() or not all(assets.part_paths(SMALL)),
                       reason="needs llama-cpp-python and the 0.5B parts: pip install -e '.[test]'"),
]
QUESTION = "What is the value of TIMEOUT_SECONDS in src/app.py?"
TOOLS = [load_spec(n) for n in ("shell", "grep", "glob", "read", "edit", "write")]

# Imported by Python at start-up (PYTHONPATH): any connection or name lookup beyond loopback is
# refused and written down, so a test can show that nothing even tried the network.
GUARD = textwrap.dedent('''
    import os, socket
    _log = os.environ["AGENTCLI_TEST_NETLOG"]
    _local = ("127.0.0.1", "::1", "localhost")

    def _note(what):
        with open(_log, "a") as f:
            f.write(repr(what) + "\\n")

    _connect = socket.socket.connect
    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in _local:
            _note(address)
            raise OSError("network blocked by the test")
        return _connect(self, address)
    socket.socket.connect = connect

    _gai = socket.getaddrinfo
    def getaddrinfo(host, *args, **kw):
        if host not in _local and host is not None:
            _note(host)
            raise socket.gaierror("name lookup blocked by the test")
        return _gai(host, *args, **kw)
    socket.getaddrinfo = getaddrinfo
''')


@pytest.fixture
def offline(tmp_path):
    """Environment for a subprocess that cannot reach the network; returns (env, log path)."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "netlog.txt"
    log.write_text("")
    return {"PYTHONPATH": str(guard), "AGENTCLI_TEST_NETLOG": str(log),
            "HOME": str(Path.home())}, log


def _events(workspace: Path) -> list[dict]:
    session = sorted((workspace / ".agentcli" / "sessions").iterdir())[-1]
    return [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]


def test_offline_headless_run_reads_the_file_and_reports_the_value(cli, workspace, offline):
    """The CI check of the real local path: no key, no network, the 0.5B must use a tool."""
    env, netlog = offline
    result, proc = cli().json("run", QUESTION, "-C", str(workspace), "--model", SMALL.name,
                              env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "37" in result["result"] and result["model"] == SMALL.name
    assert result["cost_usd"] == 0.0 and result["usage"]["output_tokens"] > 0
    events = _events(workspace)
    calls = [e["call"] for e in events if e["type"] == "tool_call"]
    results = [e for e in events if e["type"] == "tool_result" and not e["message"].get("is_error")]
    assert calls and calls[0]["name"] in {"read", "grep", "glob", "shell"}
    assert any("TIMEOUT_SECONDS = 37" in r["message"]["content"] for r in results)
    assert netlog.read_text() == ""


def test_a_failing_provider_hands_the_session_to_the_bundled_model(server, cli, workspace, offline):
    """Mid-session: the provider grepped, then fails; the local model finishes the session.

    What the 0.5B then answers varies with the CPU's kernels (on an AVX-512 Xeon it has answered
    with a copy of the provider's "Searching."); its answers are measured by
    bench/local_tasks.py, and this test holds the handover itself."""
    def respond(req):
        if req.assistant_turns == 0:
            return Turn(text="Searching.", tool_calls=[{"name": "grep", "arguments": {
                "pattern": "TIMEOUT_SECONDS"}}])
        return Turn(status=500, error_message="internal error")

    srv = server(respond)
    env, _ = offline
    result, proc = cli(srv).json("run", QUESTION, "-C", str(workspace), "--model", "anthropic/m",
                                 "--fallback", SMALL.name, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert result["model"] == SMALL.name and result["stop_reason"] == "done" and result["result"]
    switch = [ln for ln in proc.stderr.splitlines() if "switched model" in ln]
    assert len(switch) == 1 and f"anthropic/m → {SMALL.name}" in switch[0]
    events = _events(workspace)
    assert [e["new"] for e in events if e["type"] == "model_switch"] == [SMALL.name]
    assert [e["model"] for e in events if e["type"] == "assistant"][0] == "anthropic/m"
    assert [e["model"] for e in events if e["type"] == "assistant"][-1] == SMALL.name


@pytest.fixture(scope="module")
def model():
    from agentcli.local.model import LocalModel

    return LocalModel(SMALL.key, context_window_override=2048)


def _ask(text: str) -> Request:
    return Request(system="You are a helpful assistant.", messages=[Message(role="user", content=text)],
                   tools=[], max_tokens=16)


def test_it_reports_the_window_it_was_loaded_with(model):
    assert model.context_window == 2048 == model.engine.n_ctx
    assert model.name == SMALL.name and model.lean is True


def test_tokens_are_counted_by_the_gguf_tokenizer(model):
    assert model.count_tokens("<|im_start|>") == 1  # a special token of Qwen's vocabulary
    assert model.count_tokens("") == 0
    assert model.count_tokens("def main():\n    return 1\n") == len(
        model.engine.tokenize("def main():\n    return 1\n"))


def test_a_prompt_longer_than_the_window_is_a_clear_context_length_error(model):
    with pytest.raises(ModelError) as err:
        model.complete(_ask("word " * 3000))
    assert err.value.kind == "context_length" and not err.value.fails_over
    assert "window is 2,048" in str(err.value) and "\n" not in str(err.value)
    assert model.complete(_ask("Say hi.")).message.content  # and the model still works


def test_turn_two_reuses_the_cache_of_turn_one(model):
    first = model.complete(_ask("Name one prime number."))
    request = _ask("Name one prime number.")
    request.messages += [first.message, Message(role="user", content="And another one?")]
    second = model.complete(request)
    assert second.usage.cache_read_input_tokens >= first.usage.prompt_tokens
    assert second.usage.input_tokens < first.usage.prompt_tokens


def test_text_streams_as_it_is_generated(model):
    pieces: list[str] = []
    reply = model.complete(_ask("Count from one to five in words."), pieces.append)
    assert len(pieces) > 1 and "".join(pieces).strip() == reply.message.content


def test_the_first_turn_of_a_task_is_a_call_of_a_real_tool(model):
    request = Request(system="You are a coding agent.", messages=[Message(role="user", content=QUESTION)],
                      tools=TOOLS, max_tokens=128)
    reply = model.complete(request)
    assert reply.stop_reason == "tool_use"
    assert reply.tool_calls[0].name in {t.name for t in TOOLS}
    assert reply.tool_calls[0].arguments is not None


def test_a_repeated_call_is_not_passed_on(model):
    from agentcli.types import ToolCall

    read = ToolCall("c1", "read", {"path": "src/app.py"}, '{"path": "src/app.py"}')
    messages = [Message(role="user", content=QUESTION),
                Message(role="assistant", content="", tool_calls=[read]),
                Message(role="tool", content="1\tdef main():\n2\t    return 'hello'\n3\t\n"
                        "4\tTIMEOUT_SECONDS = 37", tool_call_id="c1", name="read")]
    reply = model.complete(Request(system="You are a coding agent.", messages=messages,
                                   tools=TOOLS, max_tokens=128))
    assert all((c.name, c.arguments) != ("read", {"path": "src/app.py"}) for c in reply.tool_calls)


def test_the_system_turn_is_cached_on_disk_across_processes_without_changing_output(model, tmp_path):
    from agentcli.local.bench import GREEDY

    system = "You are a careful coding assistant. " * 12  # a prefix worth caching (> 64 tokens)
    request = Request(system=system, messages=[Message(role="user", content="Name a sorting algorithm.")],
                      tools=[], max_tokens=12)

    def cold_reply(cache):
        model.engine.reset()  # as in a new process: nothing evaluated yet
        model.prefix_cache = cache
        return model.complete(request)

    saved_sampling, saved_cache = model.sampling, model.prefix_cache
    model.sampling = GREEDY
    try:
        plain = cold_reply(None)
        first = cold_reply(tmp_path)
        assert len(list(tmp_path.glob("*.kv"))) == 1
        second = cold_reply(tmp_path)
    finally:
        model.sampling, model.prefix_cache = saved_sampling, saved_cache
    assert plain.message.content == first.message.content == second.message.content
    assert plain.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens > 64  # the system turn came from the file
