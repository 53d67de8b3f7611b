"""Reading from the user: prompts (prompt_toolkit, with history across sessions and multi-line
entry) and one-key answers to approval questions. When stdin is not a terminal, plain lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from prompt_toolkit.completion import Completer, Completion

from agentcli import config
from agentcli.ui.commands import COMMANDS

HISTORY_NAME = "history"
# Answers to an approval question, by key.
ANSWER_KEYS = {"y": "y", "n": "n", "a": "always"}


def data_dir() -> Path:
    """The user's data folder for agentcli (history lives here, not in any one workspace)."""
    own = config.env().data_dir
    if own is not None:
        return own
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "agentcli"
    if os.name == "nt":
        return Path(os.environ.get("APPDATA") or Path.home()) / "agentcli"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentcli"


def history_path() -> Path | None:
    """The prompt history file, created private (prompts can hold secrets); None if unwritable."""
    path = data_dir() / HISTORY_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        return path
    except OSError:
        return None


class PlainInput:
    """Line-at-a-time input when stdin is a pipe or a file: scripts can drive a chat too."""

    interactive = False
    last_draft = ""

    def call_above(self, func: Callable[[], object]) -> None:
        """Nothing to print above: there is no prompt waiting without a terminal."""

    def redraw(self) -> None:
        """Nothing to redraw without a terminal."""

    def read(self, default: str = "", on_shown: Callable[[], object] | None = None) -> str:
        if on_shown is not None:
            on_shown()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def ask(self, question: str, choices: str) -> str:
        print(f"{question} [{choices}] ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        answer = line.strip().lower()[:1]
        return ANSWER_KEYS.get(answer, "n")


class TerminalInput:
    """prompt_toolkit input. Enter sends; Alt-Enter, Ctrl-J or a trailing backslash start a new
    line; pasted text keeps its newlines. `toolbar` gives the status line's pieces."""

    interactive = True
    last_draft = ""

    def __init__(self, toolbar: Callable[[], list[tuple[str, str]]],
                 extra_words: Callable[[str], list[str]] | None = None):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.styles import Style

        path = history_path()
        history = FileHistory(str(path)) if path else InMemoryHistory()
        self._toolbar = toolbar
        self.session = PromptSession(
            history=history, multiline=True, key_bindings=_bindings(),
            completer=_SlashCompleter(extra_words), complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(), enable_open_in_editor=True,
            bottom_toolbar=self._bottom_toolbar, prompt_continuation=lambda w, n, s: "  ",
            placeholder=[("class:placeholder", "Ask, or /help for commands")],
            style=Style.from_dict({
                "bottom-toolbar": "noreverse fg:#8a8a8a",
                "bottom-toolbar.bold": "bold fg:#c0c0c0",
                "bottom-toolbar.warn": "fg:#d7af00",
                "bottom-toolbar.alert": "fg:#ff5f5f",
                "placeholder": "fg:#6c6c6c",
                "prompt": "bold fg:ansicyan",
            }),
        )

    def _bottom_toolbar(self):
        styles = {"bold": "class:bottom-toolbar.bold", "yellow": "class:bottom-toolbar.warn",
                  "red": "class:bottom-toolbar.alert"}
        out: list[tuple[str, str]] = []
        for i, (style, text) in enumerate(self._toolbar()):
            if i:
                out.append(("class:bottom-toolbar", " · "))
            out.append((styles.get(style, "class:bottom-toolbar"), text))
        return out

    def call_above(self, func: Callable[[], object]) -> None:
        """From any thread: if the prompt is waiting, run `func` on the main thread with the
        prompt set aside, so what it prints lands above the prompt, which is then redrawn."""
        from prompt_toolkit.application import run_in_terminal

        app = getattr(self.session, "app", None)
        context = getattr(app, "context", None)
        if app is None or not app.is_running or app.loop is None or context is None:
            return  # the main thread will do it when it next needs the session
        try:
            app.loop.call_soon_threadsafe(lambda: context.copy().run(run_in_terminal, func))
        except RuntimeError:  # the prompt ended meanwhile
            pass

    def redraw(self) -> None:
        """From any thread: draw the waiting prompt again (its status line changed)."""
        app = getattr(self.session, "app", None)
        if app is not None and app.is_running and app.loop is not None:
            try:
                app.loop.call_soon_threadsafe(app.invalidate)
            except RuntimeError:  # the prompt ended meanwhile
                pass

    def read(self, default: str = "", on_shown: Callable[[], object] | None = None) -> str:
        """The next prompt, holding `default` (a line typed ahead, not finished); `on_shown`
        runs once it is drawn. Ctrl-C raises KeyboardInterrupt; a cleared draft is kept in the
        history (`last_draft` says what it was) so ↑ brings it back."""
        self.last_draft = ""

        def drawn_soon() -> None:  # runs before the first drawing; the loop's next turn, after it
            import asyncio

            asyncio.get_running_loop().call_soon(on_shown)

        try:
            return self.session.prompt([("class:prompt", "› ")], default=default,
                                       pre_run=drawn_soon if on_shown is not None else None)
        except KeyboardInterrupt:
            draft = self.session.default_buffer.text
            if draft.strip():
                self.session.history.append_string(draft)
                self.last_draft = draft
            raise

    def ask(self, question: str, choices: str) -> str:
        """One key: y, n or a (Esc means n; Ctrl-C interrupts the turn)."""
        from prompt_toolkit.application import Application
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.layout import Layout, Window
        from prompt_toolkit.layout.controls import FormattedTextControl

        kb = KeyBindings()
        for key, answer in ANSWER_KEYS.items():
            for k in (key, key.upper()):
                kb.add(k)(lambda e, a=answer: e.app.exit(result=a))
        kb.add("escape", eager=True)(lambda e: e.app.exit(result="n"))
        kb.add("c-c")(lambda e: e.app.exit(exception=KeyboardInterrupt()))
        kb.add("<any>")(lambda e: None)
        text = [("bold fg:ansiyellow", question), ("", "  "), ("fg:#8a8a8a", f"[{choices}] ")]
        app: Application[str] = Application(
            layout=Layout(Window(FormattedTextControl(text, show_cursor=True), height=1,
                                 dont_extend_height=True)),
            key_bindings=kb, full_screen=False, erase_when_done=True)
        return app.run()


def split_typeahead(data: str, draft: str = "") -> tuple[list[str], str]:
    """Keys typed while the agent worked, as (whole lines, in order; the unfinished rest).
    Enter ends a line; Alt-Enter is a newline inside it; Backspace and Ctrl-U edit it; other
    control keys and escape sequences (arrows) are dropped: nothing typed ahead is lost or
    run twice, and no key answers a question."""
    lines: list[str] = []
    line = draft
    i = 0
    while i < len(data):
        ch = data[i]
        i += 1
        if ch == "\x1b":
            if i < len(data) and data[i] in "\r\n":  # Alt-Enter
                line += "\n"
                i += 1
            elif i < len(data) and data[i] in "[O":  # CSI / SS3: skip to its final byte
                i += 1
                while i < len(data) and not ("@" <= data[i] <= "~"):
                    i += 1
                i += 1
            continue
        if ch in "\r\n":
            if line.endswith("\\"):  # a trailing backslash continues the line, as at the prompt
                line = line[:-1] + "\n"
            else:
                if line.strip():
                    lines.append(line)
                line = ""
        elif ch in "\x7f\x08":
            line = line[:-1]
        elif ch == "\x15":
            line = ""
        elif ch == "\t" or ch >= " ":
            line += ch
    return lines, line


def read_typeahead() -> str:
    """Whatever waits unread on stdin (the terminal must be out of line mode), decoded."""
    import select

    data = b""
    try:
        fd = sys.stdin.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    except (OSError, ValueError):
        pass
    return data.decode("utf-8", errors="replace")


def _bindings():
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()

    @kb.add("enter")
    def _enter(event) -> None:
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:
            buf.apply_completion(state.current_completion)
        if buf.document.text_before_cursor.endswith("\\") and buf.document.is_cursor_at_the_end:
            buf.delete_before_cursor(1)
            buf.insert_text("\n")
            return
        buf.validate_and_handle()

    @kb.add("escape", "enter")
    @kb.add("c-j")
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    return kb


class _SlashCompleter(Completer):
    """Completes slash commands at the start of the input, and their first argument."""

    def __init__(self, extra_words: Callable[[str], list[str]] | None):
        self.extra_words = extra_words

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for name, cmd in COMMANDS.items():
                if name.startswith(text[1:]):
                    yield Completion("/" + name, start_position=-len(text),
                                     display_meta=cmd.summary)
            return
        name, _, arg = text[1:].partition(" ")
        if self.extra_words is None or " " in arg:
            return
        for word in self.extra_words(name):
            if word.startswith(arg) and word != arg:
                yield Completion(word, start_position=-len(arg))
