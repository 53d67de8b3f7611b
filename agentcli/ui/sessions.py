"""Opening sessions for the chat: the first in a background thread (the provider SDK takes
seconds to import, and the prompt should not wait for it), later ones on demand for /clear
and /resume. Events a session emits while it is being built are held, then rendered by the
main thread, which owns the terminal."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from rich.console import Console
from rich.text import Text

from agentcli.approval import Approval
from agentcli.config import Settings
from agentcli.events import Emitter, Event

QUICK_FAILURE_S = 0.5  # how long a start waits, to report a failure that happens at once


class SessionUnavailable(Exception):
    """No session could be built or resumed; the message is one line for people."""


class Sessions:
    """The chat's current session and the means to start, resume or replace it."""

    def __init__(self, settings: Settings, approval: Approval, render: Callable[[Event], None],
                 console: Console, on_built: Callable[[], None] = lambda: None):
        self.settings = settings
        self.approval = approval
        self.render = render
        self.console = console
        self.on_built = on_built
        self.emitter = Emitter([self._observe])
        self.current: Any = None
        self.built: Any = None  # finished by the start thread, not yet claimed
        self.failed = False
        self._held: list[Event] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._warmed = False

    def _observe(self, event: Event) -> None:
        held = self._held
        if held is not None:
            held.append(event)
        else:
            self.render(event)

    def _flush(self) -> None:
        held, self._held = self._held or [], None
        for event in held:
            self.render(event)

    def make(self, settings: Settings, resume_id: str | None) -> Any:
        from agentcli.policy import Policy
        from agentcli.session import Session

        policy = Policy(settings.max_turns)
        if resume_id is not None:
            session = Session.resume(settings, resume_id, self.emitter, approval=self.approval,
                                     policy=policy)
        else:
            session = Session.create(settings, self.emitter, approval=self.approval, policy=policy)
        return session

    def start(self, resume_id: str | None) -> bool:
        """Build the first session in the background. False if it failed at once (said why)."""
        self._held, self.built, self._error = [], None, None

        def build() -> None:
            try:
                self.built = self.make(self.settings, resume_id)
            except BaseException as err:  # handed to the main thread by claim()
                self._error = err
            self.on_built()

        self._thread = threading.Thread(target=build, name="agentcli-start", daemon=True)
        self._thread.start()
        self._thread.join(QUICK_FAILURE_S)
        return self._thread.is_alive() or self.claim()

    def warm(self, then: Callable[[], None] = lambda: None) -> None:
        """Once, in the background: import the model's SDK, build its client and load the
        tokenizer, so the first answer starts streaming at once. Called when the prompt is on
        the screen: running before, it would slow the drawing of the prompt (one GIL)."""
        if self._warmed:
            return
        self._warmed = True
        start = self._thread

        def run() -> None:
            if start is not None:
                start.join()
            session = self.current or self.built
            if session is None:
                return
            try:
                prepare = getattr(session.model, "prepare", None)
                if prepare is not None:
                    prepare()
                from agentcli import tokens

                tokens.estimate("warm")
            except Exception:  # the first call meets the same failure and says why
                return
            then()

        threading.Thread(target=run, name="agentcli-warm", daemon=True).start()

    @property
    def pending(self) -> bool:
        """A start was made and not yet claimed."""
        return self._thread is not None

    def claim(self) -> bool:
        """Take the background-built session, waiting for it; on failure say why (stderr)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            with self.console.status("starting the model…"):
                thread.join()  # Ctrl-C here leaves the start running, to be claimed later
        self._thread = None
        self._flush()
        if self._error is not None:
            err, self._error = self._error, None
            error_line(f"agentcli: error: {one_line(err)}")
            self.failed = True
            return False
        self.current = self.built
        return self.current is not None

    def need(self) -> Any:
        """The session, waiting for the background start if it is still going."""
        if self.current is None and (self.failed or self._thread is None or not self.claim()):
            raise SessionUnavailable("no session: the model could not be started")
        return self.current

    def library(self) -> Any:
        if self.current is not None:
            return self.current.library
        from agentcli.library import Library

        return Library.for_workspace(self.settings.workspace, self.settings.library_dir)

    def switch(self, resume_id: str | None) -> Any:
        """Open another session now (`None`: a new one on the current model); the current one
        stays if that fails, and is closed and unlocked if it works."""
        old = self.need()
        settings = replace(self.settings, model=old.chain.current_name) if resume_id is None \
            else self.settings
        self._held = []
        try:
            with self.console.status("opening the session…"):
                new = self.make(settings, resume_id)
        except Exception as err:
            raise SessionUnavailable(f"could not open the session: {one_line(err)}") from err
        finally:
            self._flush()
        old.archive.close()
        old.library.unlock_session(old.id)  # so this process can come back to it with /resume
        self.current = new
        return new

    def pick(self, prefix: str, exclude: str | None = None) -> str | None:
        """The session id to resume: the one `prefix` names, or the one last active with a prompt (not
        `exclude`). None, after saying why, when there is none."""
        from agentcli.library import LibraryError
        from agentcli.ui.history import recent_sessions

        library = self.library()
        try:
            if prefix:
                return library.resolve_session(prefix, exclude=exclude)
            rows = [r for r in recent_sessions(library, limit=5) if r["id"] != exclude]
            if rows:
                return rows[0]["id"]
            raise LibraryError(f"no earlier session to resume in {library.root}")
        except LibraryError as err:
            if self.current is None:  # `agentcli resume`: nothing to open is an error
                error_line(f"agentcli: error: {err}")
            else:
                self.console.print(Text(f"{err} (/sessions lists them)", style="yellow"))
            return None


def close_dangling_calls(session: Any) -> None:
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


def epoch(iso: str | None) -> float | None:
    """An archive timestamp ("2025-01-02T03:04:05.678Z") as seconds since the epoch."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def error_line(text: str) -> None:
    Console(stderr=True, highlight=False).print(Text(text, style="red"))


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:400] or type(err).__name__
