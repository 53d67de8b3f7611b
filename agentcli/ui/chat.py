"""The chat: read a prompt or a slash command, run it, render what happens, repeat.

Start is fast: the prompt appears at once while the session is built in the background (see
sessions.py). Ctrl-C during a turn interrupts the model call or the tool; the loop keeps what
was written, and the chat goes on.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from agentcli import __version__, tokens
from agentcli.approval import Approval, scope
from agentcli.config import Settings
from agentcli.ui import commands
from agentcli.ui.render import ChatRenderer, chat_console
from agentcli.ui.sessions import Sessions, SessionUnavailable, close_dangling_calls, epoch
from agentcli.ui.status import money, status_parts

DOUBLE_CTRL_C_S = 2.0


class ChatApp:
    """One interactive chat in one workspace; `run()` returns the exit code."""

    def __init__(self, settings: Settings, console: Console | None = None):
        self.settings = settings
        self.console = console or chat_console()
        self.renderer = ChatRenderer(self.console)
        self.approval = Approval(settings.approval, ask=self._ask,
                                 roots=[settings.workspace, *settings.extra_dirs],
                                 allow_outside=settings.allow_outside)
        self.sessions = Sessions(settings, self.approval, self.renderer, self.console,
                                 on_built=lambda: self.input.call_above(self._session_ready))
        self.running = True
        self.exit_code = 0
        self._last_ctrl_c = 0.0
        self._status_cache: tuple[Any, list[tuple[str, str]]] | None = None
        self._prompts = 0  # prompts read so far; a new one refreshes the status line
        self._typed: list[str] = []  # whole lines typed while the agent worked, to run in order
        self._draft = ""  # an unfinished line typed ahead: the next prompt starts with it
        self._quiet = False  # the terminal is holding type-ahead (see _typeahead_held)
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if interactive:
            from agentcli.ui.input import TerminalInput

            self.input: Any = TerminalInput(self._status, self._completion_words)
        else:
            from agentcli.ui.input import PlainInput

            self.input = PlainInput()

    # -- running ------------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        return self.sessions.current

    def need_session(self) -> Any:
        """The session, waiting for the background start if it is still going."""
        return self.sessions.need()

    def library(self) -> Any:
        return self.sessions.library()

    def _session_ready(self) -> None:
        """The background start finished while the prompt waits: show its notices (or why it
        failed) now, above the prompt, and let the status line show the real session."""
        if self.sessions.current is None and not self.sessions.failed and self.sessions.pending:
            if not self.sessions.claim():
                self.exit_code = 1

    def run(self, first_prompt: str | None = None, resume: str | None = None) -> int:
        """The chat until /exit or Ctrl-D. `resume`: an id (or prefix) to continue, "" = latest."""
        self._banner()
        sid = None
        if resume is not None:
            sid = self.sessions.pick(resume)
            if sid is None:
                return 1
            self.renderer.compacted_at = self._show_earlier(sid)
        if not self.sessions.start(sid):
            return 1
        if first_prompt and first_prompt.strip():
            self.console.print(Text("› " + first_prompt, style="bold"))
            self.submit(first_prompt)
        while self.running:
            self._prompts += 1
            try:
                if self._typed:  # typed ahead: shown as sent, then run, one line at a time
                    text = self._typed.pop(0)
                    self.console.print(Text("› " + text, style="bold"))
                else:
                    draft, self._draft = self._draft, ""
                    text = self.input.read(default=draft, on_shown=self._warm)
                    if not self.input.interactive and text.strip():
                        self.console.print(Text("› " + text, style="bold"))  # a transcript shows it
                self.submit(text)
            except KeyboardInterrupt:  # at the prompt, or between prompts
                try:
                    self._ctrl_c_at_prompt()
                except KeyboardInterrupt:
                    self.running = False
            except EOFError:
                break
        try:
            self._goodbye()
        except KeyboardInterrupt:
            pass
        return self.exit_code

    def submit(self, text: str) -> None:
        """Run one line of input: a slash command or a prompt for the model."""
        if not text.strip():
            return
        parsed = commands.parse(text)
        try:
            with self._typeahead_held():
                if parsed is not None:
                    commands.dispatch(self, *parsed)
                    if self.running:
                        self.console.print()
                else:
                    self._turn(text)
        except SessionUnavailable as err:
            if self.session is None:  # nothing to chat with: leave, the prompt is in history
                self.running = False
                self.exit_code = 1
            else:
                self.say(str(err), "red")
        except KeyboardInterrupt:
            self.renderer.pause()
            self.say("interrupted", "yellow")

    def _turn(self, text: str) -> None:
        session = self.need_session()
        self.renderer.begin_run()
        try:
            session.run(text)
        except KeyboardInterrupt:
            # An interrupt the loop did not catch (between its steps): close what it left open.
            close_dangling_calls(session)
            self.renderer.abort("interrupted — nothing is lost; tell the model how to go on")
        except Exception as err:  # e.g. the archive cannot be written: say so, keep the chat
            self.renderer.abort(f"the turn failed: {type(err).__name__}: {err}")

    @contextmanager
    def _typeahead_held(self) -> Iterator[None]:
        """Run a command or a turn with type-ahead held: each line typed meanwhile runs after
        it, in order, once; an unfinished one waits in the next prompt."""
        if self._quiet:  # nested (a command that runs a turn): the outer one holds it
            yield
            return
        with _terminal_quiet(self.input.interactive) as quiet:
            self._quiet = quiet
            try:
                yield
            finally:
                if quiet:
                    self._take_typeahead()
                self._quiet = False

    def _take_typeahead(self) -> None:
        if not self._quiet:
            return
        from agentcli.ui.input import read_typeahead, split_typeahead

        lines, self._draft = split_typeahead(read_typeahead(), self._draft)
        self._typed.extend(lines)

    def _ctrl_c_at_prompt(self) -> None:
        draft, self.input.last_draft = getattr(self.input, "last_draft", ""), ""
        now = time.monotonic()
        if draft:
            self.say("cleared (↑ brings it back)", "dim")
        elif now - self._last_ctrl_c < DOUBLE_CTRL_C_S:
            self.running = False
        else:
            self.say("press Ctrl-C again, Ctrl-D or /exit to leave", "dim")
        self._last_ctrl_c = 0.0 if draft else now

    # -- switching sessions -------------------------------------------------------------------

    def new_session(self) -> None:
        old_id = self.need_session().id
        new = self.sessions.switch(None)
        self.renderer.compacted_at = None
        self.console.print(self._rule())
        self.say(f"new conversation ({new.id}); the last one is kept: /resume {old_id}")

    def resume(self, prefix: str | None) -> None:
        current = self.need_session().id
        sid = self.sessions.pick(prefix or "", exclude=current)
        if sid is None:
            return
        if sid == current:
            self.say("that is this session", "yellow")
            return
        self.console.print(self._rule(f"resuming {sid}"))
        compacted = self._show_earlier(sid)
        self.sessions.switch(sid)
        self.renderer.compacted_at = compacted

    def _show_earlier(self, sid: str) -> float | None:
        """Replay a session's last turns; return when it was last compacted (epoch seconds)."""
        from agentcli.library.archive import ARCHIVE_NAME, read_events
        from agentcli.ui.history import replay

        path = self.library().session_dir(sid) / ARCHIVE_NAME
        turns, compacted = replay(self.console, read_events(path))
        self.console.print(self._rule(f"{turns} earlier turn{'s' if turns != 1 else ''} · "
                                      f"session {sid}"))
        return epoch(compacted)

    def _rule(self, title: str = "") -> Any:
        """A dividing line: the terminal's width, or a short one in a piped transcript."""
        if self.console.is_terminal:
            return Rule(title, style="dim")
        return Text(f"── {title} ──" if title else "─" * 40, style="dim")

    # -- talking to the user ------------------------------------------------------------------

    def say(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style))

    def _ask(self, kind: str, detail: str) -> str:
        """The approval question, asked from inside a tool call."""
        self.renderer.pause()
        asked_at = time.monotonic()
        try:
            return self._question(kind, detail)
        finally:  # a tool line's time is the tool's, not the time the question waited
            self.renderer.waited_s += time.monotonic() - asked_at

    def _question(self, kind: str, detail: str) -> str:
        from agentcli.approval import outside_paths

        question = {
            "shell": "Run this command?",
            "shell_outside": "Run this command? It reaches outside the workspace.",
            "write": f"Write {detail}?",
            "write_outside": f"Write {detail}? It is outside the workspace.",
            "read_outside": f"Read {detail}? It is outside the workspace.",
        }.get(kind, f"Allow {kind} {detail}?")
        if kind.startswith("shell") and ("\n" in detail.strip() or len(detail) > self.console.width - 12):
            # The tool line shows one cut line; a yes must be given to the whole command.
            self.console.print(Text(detail.strip(), style="bold"), soft_wrap=True)
        if kind == "shell_outside":  # on its own line: the question is one line, cut to fit
            named = outside_paths(detail, self.approval.roots)
            self.console.print(Text("  outside the workspace: " + ", ".join(named[:5])
                                    + (f" (+{len(named) - 5} more)" if len(named) > 5 else ""),
                                    style="yellow"), soft_wrap=True)
        covered = scope(kind, detail).split(":", 1)[1]
        always = {"shell": f"always allow `{covered}`",
                  "shell_outside": "always allow this exact command"}.get(kind, f"always for {covered}")
        self._take_typeahead()  # keys typed before the question are lines, not its answer
        try:
            answer = self.input.ask("  " + question, f"y yes · n no · a {always}")
        except EOFError:
            answer = "n"
        if answer == "always":
            self.say(f"  ✓ {always} (this session; /permissions shows the list)", "green")
        self.renderer.working()
        return answer

    def _warm(self) -> None:
        self.sessions.warm(then=self.input.redraw)  # the status line can count tokens now

    def _status(self) -> list[tuple[str, str]]:
        """The status line, worked out once per prompt: the toolbar redraws on every key."""
        # A session still being claimed from the start thread is finished and idle: safe to read.
        session = self.session or self.sessions.built
        key = (id(session), self.approval.mode, self.renderer.compacted_at, self._prompts,
               tokens.loaded())
        if self._status_cache is None or self._status_cache[0] != key:
            parts = status_parts(session, approval=self.approval.mode,
                                 compacted_at=self.renderer.compacted_at,
                                 model_name=None if session is not None else self._model_hint())
            self._status_cache = (key, parts)
        return self._status_cache[1]

    def _model_hint(self) -> str:
        from agentcli.modelchoice import default_model

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


@contextmanager
def _terminal_quiet(enabled: bool) -> Iterator[bool]:
    """While the agent works, keys typed ahead are not echoed into its output and wait unread,
    Enter kept as Enter (no CR-to-NL translation, which the prompt would take for Ctrl-J).
    Ctrl-C still interrupts (ISIG stays on). Yields whether the terminal was set so."""
    if not enabled:
        yield False
        return
    try:
        import termios

        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
        new = list(old)
        new[0] &= ~termios.ICRNL
        new[3] &= ~(termios.ECHO | termios.ICANON)
        new[6] = list(new[6])
        new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSANOW, new)
    except Exception:
        yield False
        return
    try:
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)
