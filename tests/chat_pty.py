"""Driving the real `agentcli chat` in a pseudo-terminal, the way a person at a keyboard does.

`ChatTerm` spawns `python -m agentcli ...` under pexpect with a real window size, keeps
everything it printed, and matches text with the terminal's escape codes taken out.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect

from agentcli.testing.scripted_server import ScriptedServer

# CSI sequences (colours, cursor moves), OSC (titles, links), and lone ESC-x codes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_=>()][0-9A-Za-z]?")
PROMPT_READY = "Ask, or /help for commands"  # the empty prompt's placeholder
ENTER = "\r"
ALT_ENTER = "\x1b\r"
CTRL_D = "\x04"
UP = "\x1b[A"
CPR_REQUEST, CPR_ANSWER = "\x1b[6n", "\x1b[1;1R"


def plain(raw: str) -> str:
    """Terminal output without escape codes and carriage returns."""
    return _ANSI.sub("", raw).replace("\r", "")


def chat_env(srv: ScriptedServer | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "OPENAI_", "AGENTCLI_"))}
    env.update({"HOME": str(home), "AGENTCLI_DATA_DIR": str(home / "data"),
                "AGENTCLI_FALLBACK": "none", "TERM": "xterm-256color",
                "PYTHONUNBUFFERED": "1"})
    env.pop("NO_COLOR", None)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if srv is not None:
        env.update({"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": srv.anthropic_base_url,
                    "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.openai_base_url})
    return env


class ChatTerm:
    """One chat in a pty. `expect(text)` waits for `text` after what was already matched."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path,
                 rows: int = 40, cols: int = 120, timeout: float = 60):
        self.child = pexpect.spawn(sys.executable, ["-m", "agentcli", *args], env=env, cwd=str(cwd),
                                   dimensions=(rows, cols), encoding="utf-8",
                                   codec_errors="replace", timeout=timeout,
                                   use_poll=True)  # select() fails past fd 1024 in a long pytest run
        self.timeout = timeout
        self._cpr_answered = 0
        self.raw = ""
        self.mark = 0

    @property
    def text(self) -> str:
        """Everything shown so far, without escape codes."""
        return plain(self.raw)

    def since_mark(self) -> str:
        return self.text[self.mark:]

    def _pump(self, wait: float) -> bool:
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=wait)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        # Answer cursor-position requests as a terminal does; prompt_toolkit sizes its layout
        # (and shows the status line) only once it knows where the cursor is.
        asked = self.raw.count(CPR_REQUEST)
        if asked > self._cpr_answered and self.child.isalive():
            self.child.send(CPR_ANSWER * (asked - self._cpr_answered))
            self._cpr_answered = asked
        return True

    def expect(self, needle: str, timeout: float | None = None) -> str:
        """Wait until `needle` shows; return the output from the previous mark to its end."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            text = self.text
            at = text.find(needle, self.mark)
            if at >= 0:
                seen = text[self.mark: at + len(needle)]
                self.mark = at + len(needle)
                return seen
            if time.monotonic() > deadline or not self._pump(0.1):
                if needle in self.text[self.mark:]:
                    continue
                raise AssertionError(f"{needle!r} did not appear; the screen said:\n"
                                     f"{self.text[-3000:]}")

    def ready(self, timeout: float | None = None) -> str:
        """Wait for the prompt to be back, empty."""
        return self.expect(PROMPT_READY, timeout)

    def settle(self, quiet: float = 0.5) -> None:
        """Read until the program prints nothing for `quiet` seconds."""
        end = len(self.raw)
        while True:
            self._pump(quiet)
            if len(self.raw) == end:
                return
            end = len(self.raw)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def line(self, text: str) -> None:
        """Type a line and press Enter."""
        self.child.send(text)
        time.sleep(0.05)
        self.child.send(ENTER)

    def interrupt(self) -> None:
        """Ctrl-C, as the terminal sends it."""
        self.child.sendintr()

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self._pump(0.1)
        self._pump(0.1)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -(self.child.signalstatus or 0)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def open_chat_fixture(tmp_path: Path, workspace: Path):
    """Yields `start(srv, *args, model=..., env=...)` -> ChatTerm; all are closed after.
    `command=""` opens the chat as bare `agentcli [OPTIONS]`."""
    started: list[ChatTerm] = []

    def start(srv: ScriptedServer | None, *args: str, model: str | None = "anthropic/test-model",
              rows: int = 40, cols: int = 120, cwd: Path | None = None, command: str = "chat",
              wait_ready: bool = True, env: dict[str, str] | None = None) -> ChatTerm:
        argv = [command, "-C", str(workspace)] if command else ["-C", str(workspace)]
        if model:
            argv += ["--model", model]
        term = ChatTerm(argv + list(args), {**chat_env(srv, tmp_path / "home"), **(env or {})},
                        cwd or workspace, rows=rows, cols=cols)
        started.append(term)
        if wait_ready:
            term.ready()
            # The first answer to a cursor-position request redraws the empty prompt; take that
            # redraw in now so a later `ready()` cannot match it instead of the next prompt.
            term.settle(0.3)
            term.mark = len(term.text)
        return term

    yield start
    for term in started:
        term.close()
