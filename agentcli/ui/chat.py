"""The chat: read a prompt or a slash command, run it, render what happens, repeat.

Start is fast: the prompt appears at once while the session (and the provider SDK, which
takes seconds to import) is built in a background thread. Ctrl-C during a turn interrupts the
model call or the tool; the loop keeps what was written, and the chat goes on.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from agentcli import __version__
from agentcli.approval import Approval, scope
from agentcli.config import Settings
from agentcli.events import Emitter, Event
from agentcli.ui import commands
from agentcli.ui.render import ChatRenderer
from agentcli.ui.status import money, status_parts

QUICK_FAILURE_S = 0.5  # how long the start waits to catch a failure that happens at once
DOUBLE_CTRL_C_S = 2.0


class SessionUnavailable(Exception):
    """The session could not be built or resumed; the message is one line for people."""


class ChatApp:
    """One interactive chat in one workspace; `run()` returns the exit code."""

    def __init__(self, settings: Settings, console: Console | None = None):
        self.settings = settings
        self.console = console or Console(highlight=False)
        self.renderer = ChatRenderer(self.console)
        self.approval = Approval(settings.approval, ask=self._ask)
        self.emitter = Emitter([self._observe])
        self.session: Any = None
        self.running = True
        self.exit_code = 0
        self._held: list[Event] | None = None
        self._starting: threading.Thread | None = None
        self._built: Any = None
        self._start_error: BaseException | None = None
        self._last_ctrl_c = 0.0
        self._resumed_compaction: float | None = None
        self._status_cache: tuple[Any, list[tuple[str, str]]] | None = None
        self._prompts = 0  # prompts read so far; a new one refreshes the status line
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if interactive:
            from agentcli.ui.input import TerminalInput

            self.input: Any = TerminalInput(self._status, self._completion_words)
        else:
            from agentcli.ui.input import PlainInput

            self.input = PlainInput()

    # -- running ------------------------------------------------------------------------------

    def run(self, first_prompt: str | None = None, resume: str | None = None) -> int:
        """The chat until /exit or Ctrl-D. `resume`: an id (or prefix) to continue, "" = latest."""
        self._banner()
        if resume is not None:
            sid = self._pick_session(resume)
            if sid is None:
                return 1
            self._show_earlier(sid)
            self._start(sid)
        else:
            self._start(None)
        if self._starting is not None and not self._starting.is_alive() and not self._claim():
            return self.exit_code
        if first_prompt and first_prompt.strip():
            self.console.print(Text("› " + first_prompt, style="bold"))
            self.submit(first_prompt)
        while self.running:
            self._prompts += 1
            try:
                text = self.input.read()
            except KeyboardInterrupt:
                self._ctrl_c_at_prompt()
                continue
            except EOFError:
                break
            if not self.input.interactive and text.strip():
                self.console.print(Text("› " + text, style="bold"))  # a transcript shows the prompt
            self.submit(text)
        self._goodbye()
        return self.exit_code

    def submit(self, text: str) -> None:
        """Run one line of input: a slash command or a prompt for the model."""
        if not text.strip():
            return
        parsed = commands.parse(text)
        try:
            if parsed is not None:
                commands.dispatch(self, *parsed)
                if self.running:
                    self.console.print()
            else:
                self._turn(text)
        except SessionUnavailable as err:
            self.say(str(err), "red")
            if self.session is None:  # nothing to chat with: leave, the prompt is in history
                self.running = False
                self.exit_code = 1
        except KeyboardInterrupt:
            self.renderer.pause()
            self.say("interrupted", "yellow")

    def _turn(self, text: str) -> None:
        session = self.need_session()
        self.renderer.begin_run()
        try:
            with _typeahead_hidden(self.input.interactive):
                session.run(text)
        except KeyboardInterrupt:
            # An interrupt the loop did not catch (between its steps): close what it left open.
            _close_dangling_calls(session)
            self.renderer.abort("interrupted — nothing is lost; tell the model how to go on")
        except Exception as err:  # e.g. the archive cannot be written: say so, keep the chat
            self.renderer.abort(f"the turn failed: {type(err).__name__}: {err}")

    def _ctrl_c_at_prompt(self) -> None:
        draft = getattr(self.input, "last_draft", "")
        now = time.monotonic()
        if draft:
            self.say("cleared (↑ brings it back)", "dim")
        elif now - self._last_ctrl_c < DOUBLE_CTRL_C_S:
            self.running = False
        else:
            self.say("press Ctrl-C again, Ctrl-D or /exit to leave", "dim")
        self._last_ctrl_c = 0.0 if draft else now

    # -- the session --------------------------------------------------------------------------

    def _observe(self, event: Event) -> None:
        held = self._held
        if held is not None:  # built in the background: render once the main thread takes over
            held.append(event)
        else:
            self.renderer(event)

    def _start(self, resume_id: str | None) -> None:
        """Build the session in the background; wait a moment to catch instant failures."""
        self._held, self._built, self._start_error = [], None, None

        def build() -> None:
            try:
                self._built = self._make(self.settings, resume_id)
            except BaseException as err:  # handed to the main thread by _claim
                self._start_error = err
            refresh = getattr(self.input, "refresh", None)
            if refresh is not None:
                refresh()  # the status line can show the real model and window now

        self._starting = threading.Thread(target=build, name="agentcli-start", daemon=True)
        self._starting.start()
        self._starting.join(QUICK_FAILURE_S)

    def _make(self, settings: Settings, resume_id: str | None) -> Any:
        from agentcli.policy import Policy
        from agentcli.session import Session

        policy = Policy(settings.max_turns)
        if resume_id is not None:
            return Session.resume(settings, resume_id, self.emitter, approval=self.approval,
                                  policy=policy)
        return Session.create(settings, self.emitter, approval=self.approval, policy=policy)

    def _claim(self) -> bool:
        """Take the background-built session; on failure say why and end the chat."""
        thread = self._starting
        if thread is not None and thread.is_alive():
            with self.console.status("starting the model…"):
                thread.join()  # Ctrl-C here leaves the start running, to be claimed later
        self._starting = None
        held, self._held = self._held or [], None
        for event in held:
            self.renderer(event)
        if self._start_error is not None:
            err, self._start_error = self._start_error, None
            Console(stderr=True, highlight=False).print(Text(f"agentcli: error: {_one_line(err)}",
                                                             style="red"))
            self.running = False
            self.exit_code = 1
            return False
        self.session = self._built
        self.renderer.compacted_at = self._resumed_compaction
        return True

    def need_session(self) -> Any:
        """The session, waiting for the background start if it is still going."""
        if self.session is None:
            if self._starting is None or not self._claim():
                raise SessionUnavailable("no session: the model could not be started")
        return self.session

    def library(self) -> Any:
        if self.session is not None:
            return self.session.library
        from agentcli.library import Library

        return Library.for_workspace(self.settings.workspace, self.settings.library_dir)

    def _switch_to(self, resume_id: str | None) -> Any:
        """Build another session now (for /clear and /resume); the current one stays if it fails."""
        old = self.need_session()
        settings = replace(self.settings, model=old.chain.current_name) if resume_id is None \
            else self.settings
        emitter_held: list[Event] = []
        self._held = emitter_held
        try:
            with self.console.status("opening the session…"):
                new = self._make(settings, resume_id)
        except Exception as err:
            raise SessionUnavailable(f"could not open the session: {_one_line(err)}") from err
        finally:
            self._held = None
            for event in emitter_held:
                self.renderer(event)
        old.archive.close()
        old.library.unlock_session(old.id)  # so this process can come back to it with /resume
        self.session = new
        self.renderer.compacted_at = self._resumed_compaction if resume_id else None
        return new

    def new_session(self) -> None:
        old_id = self.need_session().id
        new = self._switch_to(None)
        self.console.print(Rule(style="dim"))
        self.say(f"new conversation ({new.id}); the last one is kept: /resume {old_id}")

    def resume(self, prefix: str | None) -> None:
        current = self.need_session().id
        sid = self._pick_session(prefix or "", exclude=current)
        if sid is None:
            return
        if sid == current:
            self.say("that is this session", "yellow")
            return
        self.console.print(Rule(f"resuming {sid}", style="dim"))
        self._show_earlier(sid)
        self._switch_to(sid)

    def _pick_session(self, prefix: str, exclude: str | None = None) -> str | None:
        from agentcli.library import LibraryError
        from agentcli.ui.history import recent_sessions

        library = self.library()
        try:
            if prefix:
                return library.resolve_session(prefix)
            rows = [r for r in recent_sessions(library, limit=5) if r["id"] != exclude]
            if rows:
                return rows[0]["id"]
            raise LibraryError(f"no earlier session to resume in {library.root}")
        except LibraryError as err:
            if self.session is None:  # `agentcli resume`: nothing to open is an error
                Console(stderr=True, highlight=False).print(Text(f"agentcli: error: {err}", style="red"))
                self.exit_code = 1
            else:
                self.say(f"{err} (/sessions lists them)", "yellow")
            return None

    def _show_earlier(self, sid: str) -> None:
        from agentcli.library.archive import ARCHIVE_NAME, read_events
        from agentcli.ui.history import replay

        path = self.library().session_dir(sid) / ARCHIVE_NAME
        turns, compacted = replay(self.console, read_events(path))
        self._resumed_compaction = _epoch(compacted)
        self.console.print(Rule(f"{turns} earlier turn{'s' if turns != 1 else ''} · session {sid}",
                                style="dim"))

    def compacted(self) -> None:
        """Note a compaction the user asked for (the status line shows when)."""
        self.renderer.compacted_at = time.time()

    # -- talking to the user ------------------------------------------------------------------

    def say(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style))

    def _ask(self, kind: str, detail: str) -> str:
        """The approval question, asked from inside a tool call."""
        self.renderer.pause()
        question = {
            "shell": "Run this command?",
            "write": f"Write {detail}?",
            "write_outside": f"Write {detail}? It is outside the workspace.",
            "read_outside": f"Read {detail}? It is outside the workspace.",
        }.get(kind, f"Allow {kind} {detail}?")
        if kind == "shell" and ("\n" in detail.strip() or len(detail) > self.console.width - 12):
            # The tool line shows one cut line; a yes must be given to the whole command.
            self.console.print(Text(detail.strip(), style="bold"), soft_wrap=True)
        covered = scope(kind, detail).split(":", 1)[1]
        always = {"shell": f"always allow `{covered}`"}.get(kind, f"always for {covered}")
        try:
            answer = self.input.ask("  " + question, f"y yes · n no · a {always}")
        except EOFError:
            answer = "n"
        if answer == "always":
            self.say(f"  ✓ {always} (this session; /permissions shows the list)", "green")
        self.renderer.working()
        return answer

    def _status(self) -> list[tuple[str, str]]:
        """The status line, worked out once per prompt: the toolbar redraws on every key."""
        # A session still being claimed from the start thread is finished and idle: safe to read.
        session = self.session or self._built
        key = (id(session), self.approval.mode, self.renderer.compacted_at, self._prompts)
        if self._status_cache is None or self._status_cache[0] != key:
            parts = status_parts(session, approval=self.approval.mode,
                                 compacted_at=self.renderer.compacted_at or self._resumed_compaction,
                                 model_name=None if session is not None else self._model_hint())
            self._status_cache = (key, parts)
        return self._status_cache[1]

    def _model_hint(self) -> str:
        from agentcli.models import default_model

        return self.settings.model or default_model()[0]

    def _completion_words(self, command: str) -> list[str]:
        if command == "model":
            from agentcli.models import catalog

            names = [catalog.DEFAULT_ANTHROPIC, "anthropic/claude-opus-4-5", "anthropic/claude-haiku-4-5",
                     catalog.DEFAULT_OPENAI, "openai/gpt-5-mini", "openai/gpt-4.1", catalog.DEFAULT_LOCAL]
            if self.session is not None:
                names = self.session.chain.names + names
            return list(dict.fromkeys(names))
        if command in ("permissions", "permission"):
            return ["ask", "auto", "readonly"]
        if command == "resume":
            from agentcli.ui.history import recent_sessions

            return [r["id"] for r in recent_sessions(self.library(), limit=10)]
        return []

    def _banner(self) -> None:
        where = str(self.settings.workspace)
        home = os.path.expanduser("~")
        if where.startswith(home + os.sep):
            where = "~" + where[len(home):]
        line = Text.assemble(("agentcli ", "bold cyan"), (__version__, "dim"), "  ",
                             (self._model_hint(), "bold"), ("  in ", "dim"), where,
                             ("  · approval: ", "dim"), self.approval.mode)
        self.console.print(line)
        if self.input.interactive:
            self.say("/help for commands · Enter sends · Alt-Enter new line · Ctrl-C interrupts · "
                     "Ctrl-D leaves", "dim")

    def _goodbye(self) -> None:
        self.renderer.pause()
        session = self.session
        if session is None:
            return
        try:
            session.archive.close()
        except Exception:
            pass
        if session.turns:
            self.say(f"session {session.id} saved · {money(session.cost)} · "
                     f"continue with: agentcli resume {session.id}", "dim")


def _close_dangling_calls(session: Any) -> None:
    """After an interrupt outside the loop's own handling, give every tool call the model made
    a result, so the next request is well formed (providers reject unanswered calls)."""
    entries = session.context.entries
    for i in range(len(entries) - 1, -1, -1):
        message = entries[i].message
        if message.role == "user":
            return
        if message.role == "assistant":
            answered = {e.message.tool_call_id for e in entries[i + 1:] if e.message.role == "tool"}
            missing = [c for c in message.tool_calls if c.id not in answered]
            if missing:
                session.record_interrupted_tools(missing)
            return


@contextmanager
def _typeahead_hidden(enabled: bool) -> Iterator[None]:
    """While the agent works, keys typed ahead are neither echoed into its output nor lost:
    they wait for the next prompt. Ctrl-C still interrupts (ISIG stays on)."""
    if not enabled:
        yield
        return
    try:
        import termios

        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
        new = list(old)
        new[3] &= ~(termios.ECHO | termios.ICANON)
        termios.tcsetattr(fd, termios.TCSANOW, new)
    except Exception:
        yield
        return
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)


def _epoch(iso: str | None) -> float | None:
    """An archive timestamp ("2025-01-02T03:04:05.678Z") as seconds since the epoch."""
    if not iso:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:400] or type(err).__name__
