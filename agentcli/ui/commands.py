"""Slash commands: `/help`, `/model`, `/compact`, `/memory`, `/sessions`, `/resume`, `/cost`,
`/context`, `/permissions`, `/clear`, `/exit`.

Each handler gets the chat app and the text after the command. Commands never end the
session on bad input: they print one line saying what was wrong and what to type.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

from rich.table import Table
from rich.text import Text

from agentcli.ui import status as st

if TYPE_CHECKING:
    from rich.console import Console

    from agentcli.approval import Approval


class ChatApp(Protocol):
    """What a slash command may use of the chat (ui.chat.ChatApp is the one)."""

    console: Console
    approval: Approval
    running: bool

    @property
    def session(self) -> Any: ...

    def library(self) -> Any: ...

    def need_session(self) -> Any: ...

    def new_session(self) -> None: ...

    def resume(self, prefix: str | None) -> None: ...

    def say(self, text: str, style: str = "") -> None: ...

_COMMAND = re.compile(r"^/([A-Za-z][\w-]*)(?:\s+(.*))?$", re.S)


@dataclass
class Command:
    name: str
    usage: str
    summary: str
    handler: Callable[[ChatApp, str], None]


COMMANDS: dict[str, Command] = {}
ALIASES = {"quit": "exit", "q": "exit", "?": "help", "new": "clear", "permission": "permissions"}


def command(name: str, usage: str, summary: str):
    def register(fn: Callable[[ChatApp, str], None]):
        COMMANDS[name] = Command(name, usage, summary, fn)
        return fn
    return register


def parse(line: str) -> tuple[str, str] | None:
    """("name", "argument text") if `line` is a slash command; None if it is a prompt.

    "/usr/bin/env is missing" is a prompt, not a command: a command's name has no slash.
    """
    match = _COMMAND.match(line.strip())
    if not match:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


def dispatch(app: ChatApp, name: str, arg: str) -> None:
    """Run a command, or say it is unknown and suggest the nearest."""
    cmd = COMMANDS.get(ALIASES.get(name, name))
    starting = [c for c in COMMANDS if c.startswith(name)]
    if cmd is None and len(starting) == 1:  # a unique start is enough: /comp, /perm
        cmd = COMMANDS[starting[0]]
    elif cmd is None and starting:
        app.say(f"/{name} could be " + ", ".join("/" + c for c in starting), "yellow")
        return
    if cmd is None:
        near = difflib.get_close_matches(name, list(COMMANDS) + list(ALIASES), n=1, cutoff=0.5)
        hint = f"did you mean /{ALIASES.get(near[0], near[0])}? " if near else ""
        app.say(f"unknown command /{name} — {hint}/help lists the commands", "yellow")
        return
    try:
        cmd.handler(app, arg)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        if type(err).__name__ == "SessionUnavailable":
            raise
        app.say(f"/{cmd.name} failed: {type(err).__name__}: {_one_line(err)}", "red")


# -- commands -------------------------------------------------------------------------------


@command("help", "/help", "commands and keys")
def _help(app: ChatApp, arg: str) -> None:
    table = Table.grid(padding=(0, 2))
    for cmd in COMMANDS.values():
        table.add_row(Text(cmd.usage, style="cyan"), Text(cmd.summary))
    app.console.print(table)
    app.console.print()
    keys = Table.grid(padding=(0, 2))
    for key, what in (("Enter", "send"), ("Alt-Enter, Ctrl-J, or \\ at the end", "new line"),
                      ("↑ ↓", "history (kept across sessions)"),
                      ("Ctrl-C", "interrupt the model or the tool; clear the line"),
                      ("Ctrl-X Ctrl-E", "edit the prompt in $EDITOR"), ("Ctrl-D", "leave")):
        keys.add_row(Text(key, style="cyan"), Text(what))
    app.console.print(keys)


@command("model", "/model [NAME]", "show the model, or switch to NAME mid-session")
def _model(app: ChatApp, arg: str) -> None:
    session = app.need_session()
    if not arg:
        model = session.model
        others = [n for n in session.chain.names if n != model.name]
        app.say(f"model: {model.name} (window {st.tokens(model.context_window)} tokens); "
                + (f"fails over to {', '.join(others)}" if others else "no failover"))
        app.say("switch with /model provider/name, e.g. /model anthropic/claude-sonnet-4-5", "dim")
        return
    from agentcli.models import ModelError

    try:
        with app.console.status(f"loading {arg}…"):
            session.switch_model(arg)
    except ModelError as err:
        app.say(f"cannot switch to {arg}: {err} — still on {session.model.name}", "red")


@command("compact", "/compact [INSTRUCTIONS]", "summarise the conversation into the library now")
def _compact(app: ChatApp, arg: str) -> None:
    session = app.need_session()
    try:
        with app.console.status("compacting… (Ctrl-C to stop)"):
            session.compact(arg or None)  # reports through `compaction` or `notice` events
    except KeyboardInterrupt:
        app.say("compaction interrupted", "yellow")


@command("memory", "/memory QUERY", "search this workspace's past sessions")
def _memory(app: ChatApp, arg: str) -> None:
    if not arg:
        app.say("usage: /memory QUERY — e.g. /memory why did we pin the version", "yellow")
        return
    from agentcli.library.search import SearchError, search

    session = app.need_session()
    try:
        hits = search(session.library, arg, session_id=None)
    except SearchError as err:
        app.say(f"cannot search: {_one_line(err)}", "yellow")
        return
    if not hits:
        app.say(f"nothing in the library matches {arg!r}; try other or fewer words")
        return
    for hit in hits:
        where = "this session" if hit.session_id == session.id else f"session {hit.session_id}"
        app.console.print(Text.assemble((hit.event_id, "cyan"), f" · {hit.label} · {where} · ",
                                        (_local(hit.ts), "dim")))
        app.console.print(Text("    " + hit.snippet))
    first = hits[0]
    app.say(f"read one in full: agentcli memory show {first.session_id}:{first.event_id}", "dim")


@command("sessions", "/sessions", "sessions in this workspace, last active first")
def _sessions(app: ChatApp, arg: str) -> None:
    from agentcli.ui.history import recent_sessions

    rows = recent_sessions(app.library())
    if not rows:
        app.say("no sessions yet in this workspace")
        return
    current = app.session.id if app.session is not None else None
    cells = [(row["id"] + (" ◀" if row["id"] == current else ""),
              _local(row.get("last_activity") or row.get("started")),
              str(row.get("turns", "")), str(row.get("model") or ""),
              " ".join(str(row.get("first_request") or "").split())) for row in rows]
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
    for i, col in enumerate(("id", "last active", "turns", "model")):
        # The id is what /resume needs: these columns never shrink; the request takes the rest.
        table.add_column(col, no_wrap=True, min_width=max(len(col), *(len(c[i]) for c in cells)))
    table.add_column("first request", no_wrap=True, overflow="ellipsis")
    for sid, active, turns, model, first in cells:
        table.add_row(Text(sid, style="bold cyan" if sid.endswith("◀") else "cyan"), active, turns,
                      model, Text(first, overflow="ellipsis", no_wrap=True))
    app.console.print(table)
    app.say("resume one with /resume ID (the start of the id is enough)", "dim")


@command("resume", "/resume [ID]", "continue an earlier session (default: the latest other one)")
def _resume(app: ChatApp, arg: str) -> None:
    app.resume(arg or None)


@command("cost", "/cost", "tokens and cost of this session")
def _cost(app: ChatApp, arg: str) -> None:
    session = app.need_session()
    u = session.usage
    table = Table.grid(padding=(0, 2))
    table.add_row("input", f"{u.input_tokens:,}")
    table.add_row("cache read", f"{u.cache_read_input_tokens:,}")
    table.add_row("cache write", f"{u.cache_creation_input_tokens:,}")
    table.add_row("output", f"{u.output_tokens:,}")
    price = f"${session.cost:.4f}" if session.cost is not None else \
        "unknown (no price known for a model used)"
    table.add_row("cost", price)
    table.add_row("model calls", str(session.turns))
    table.add_row("time", f"{(time.monotonic() - session.started) / 60:.1f} min")
    app.console.print(table)


# The library's names for the parts of the window, as people say them.
PARTS = {"system": "system prompt", "tools": "tool definitions", "summary": "summary of earlier turns",
         "messages": "messages", "tool_results": "tool results"}


@command("context", "/context", "what fills the model's window, by part")
def _context(app: ChatApp, arg: str) -> None:
    session = app.need_session()
    window = session.model.context_window
    rows = [(PARTS.get(k, k), v) for k, v in session.context_breakdown().items() if k != "total"]
    total = sum(int(v or 0) for _, v in rows)
    table = Table(box=None, padding=(0, 2), show_header=False)
    table.add_column(style="cyan")
    table.add_column(justify="right")
    table.add_column(justify="right", style="dim")
    table.add_column()
    for name, value in rows:
        n = int(value or 0)
        share = n / window if window else 0
        table.add_row(str(name), st.tokens(n), f"{share:.1%}", Text("█" * max(0, round(share * 40)),
                                                                  style="cyan"))
    table.add_row(Text("total", style="bold"), Text(st.tokens(total), style="bold"),
                  f"{total / window:.1%}" if window else "", Text(f"of {st.tokens(window)}",
                                                                  style="dim"))
    app.console.print(table)


@command("permissions", "/permissions [ask|auto|readonly]", "show or change what needs your yes")
def _permissions(app: ChatApp, arg: str) -> None:
    from agentcli.approval import MODES

    approval = app.approval
    if arg:
        if arg not in MODES:
            app.say(f"unknown mode {arg!r}; use one of: {', '.join(MODES)}", "yellow")
            return
        approval.mode = arg
    explain = {"ask": "read-only commands and writes in the workspace run; other commands and "
                      "anything outside the workspace ask you",
               "auto": "commands and writes in the workspace run without asking",
               "readonly": "no writes; commands run in the sandbox with the workspace "
                           "read-only (none where there is no sandbox)"}
    app.say(f"approval: {approval.mode} — {explain[approval.mode]}")
    if approval.always:
        app.say("always allowed: " + ", ".join(sorted(approval.always)), "dim")


@command("clear", "/clear", "start a fresh conversation (this one stays in the library)")
def _clear(app: ChatApp, arg: str) -> None:
    app.new_session()


@command("exit", "/exit", "leave (Ctrl-D works too)")
def _exit(app: ChatApp, arg: str) -> None:
    app.running = False


def _local(iso: str | None) -> str:
    """An archive time (UTC) as local "YYYY-MM-DD HH:MM"."""
    from datetime import datetime

    from agentcli.ui.sessions import epoch

    seconds = epoch(iso)
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else ""


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300] or type(err).__name__
