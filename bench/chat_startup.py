"""How fast the chat feels, for `agentcli chat` in a pseudo-terminal against the scripted
server: time until the prompt is ready to type into; from Enter (pressed as soon as the prompt
shows) to the first streamed words; and from the server sending those words to their showing.

    python bench/chat_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

from agentcli.testing.scripted_server import ScriptedServer, Turn

READY = "Ask, or /help for commands"


class Stamped:
    """The scripted answer, noting when each request came in: the server sends its first
    words right after."""

    def __init__(self) -> None:
        self.sent: list[float] = []

    def __call__(self, request) -> Turn:
        self.sent.append(time.perf_counter())
        return Turn(text="first-words and more")


def one_run(srv: ScriptedServer, home: Path, workspace: Path) -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "AGENTCLI_"))}
    env.update({"HOME": str(home), "AGENTCLI_DATA_DIR": str(home / "data"), "AGENTCLI_FALLBACK": "none",
                "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1",
                "ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": srv.anthropic_base_url})
    started = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "agentcli", "chat", "--model", "anthropic/bench"],
                          env=env, cwd=str(workspace), dimensions=(40, 120), encoding="utf-8",
                          timeout=60)
    try:
        child.expect_exact(READY)
        ready = time.perf_counter() - started
        child.send("hello\r")
        sent = time.perf_counter()
        child.expect_exact("first-words")
        seen = time.perf_counter()
        child.expect_exact(READY)  # the turn is over: a Ctrl-D typed during it would be dropped
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return ready, seen - sent, seen - srv.responder.sent[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer(Stamped()) as srv:
        home, workspace = Path(tmp) / "home", Path(tmp) / "ws"
        workspace.mkdir(parents=True)
        samples = [one_run(srv, home, workspace) for _ in range(args.runs)]
    for label, values in (("chat: prompt ready to type", [s[0] for s in samples]),
                          ("chat: Enter to first streamed words", [s[1] for s in samples]),
                          ("chat: server sent to words shown", [s[2] for s in samples])):
        print(f"{label:<40} median {statistics.median(values) * 1000:7.0f} ms   "
              f"min {min(values) * 1000:7.0f} ms   (n={len(values)})")


if __name__ == "__main__":
    main()
