"""Shared fixtures: a scripted model server on 127.0.0.1 and a way to run the real CLI against it.

Tests never reach the internet and need no API key: every provider call goes to the scripted
server through the official SDKs, configured by the same environment variables a user sets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from agentcli.testing.scripted_server import ScriptedServer, Turn

REPO = Path(__file__).resolve().parent.parent

# Variables that would let a test reach a real provider, or change agentcli's defaults.
_SCRUB = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY",
          "OPENAI_BASE_URL", "AGENTCLI_MODEL", "AGENTCLI_FALLBACK", "AGENTCLI_HOME",
          "AGENTCLI_APPROVAL", "AGENTCLI_CONTEXT_WINDOW")


@pytest.fixture(autouse=True)
def _no_real_providers(monkeypatch, tmp_path_factory):
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    # The user's own config.toml (model, approval, MCP servers) must not reach a test.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    # The default chain ends in the bundled model; tests that want it ask for it.
    monkeypatch.setenv("AGENTCLI_FALLBACK", "none")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A small project tree to work in."""
    ws = tmp_path / "project"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("def main():\n    return 'hello'\n\nTIMEOUT_SECONDS = 37\n")
    (ws / "src" / "util.py").write_text("def add(a, b):\n    return a + b\n")
    (ws / "README.md").write_text("# demo project\n")
    return ws


@pytest.fixture
def server():
    """Start a scripted server: `srv = server(responder_or_turns)`; stopped after the test."""
    started: list[ScriptedServer] = []

    def start(responder: Any, **kw: Any) -> ScriptedServer:
        srv = ScriptedServer(responder, **kw).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def provider_env(srv: ScriptedServer) -> dict[str, str]:
    """Environment that points both SDKs at the scripted server, with dummy keys."""
    return {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": srv.anthropic_base_url,
            "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.openai_base_url}


class CLI:
    """Runs `python -m agentcli ...` as a subprocess, the way a user runs the command."""

    def __init__(self, env: dict[str, str] | None = None):
        self.env = env or {}

    def __call__(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                 input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **self.env, **(env or {})}
        return subprocess.run([sys.executable, "-m", "agentcli", *args], cwd=cwd, env=full_env,
                              input=input, capture_output=True, text=True, timeout=timeout)

    def json(self, *args: str, **kw: Any) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
        proc = self(*args, "--output-format", "json", **kw)
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        assert lines, f"no JSON on stdout; stderr:\n{proc.stderr}"
        return json.loads(lines[-1]), proc


@pytest.fixture
def cli() -> Callable[..., CLI]:
    """`run = cli(srv)` gives a CLI runner whose provider env points at `srv`."""

    def make(srv: ScriptedServer | None = None, **extra_env: str) -> CLI:
        env = provider_env(srv) if srv is not None else {}
        return CLI({**env, **extra_env})

    return make


__all__ = ["Turn", "provider_env", "CLI", "REPO"]
