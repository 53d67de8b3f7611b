"""`agentcli chat [PROMPT]`, `agentcli resume [ID]` and bare `agentcli`: the interactive chat.

The terminal UI lives in `agentcli.ui` and is imported only when a chat starts, so `--help`
stays fast.
"""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt


def chat(
    prompt: Annotated[Optional[str], typer.Argument(
        help="A first prompt to send as the chat opens.")] = None,
    directory: opt.Directory = None,
    model: opt.ModelName = None,
    base_url: opt.BaseUrl = None,
    fallback: opt.Fallback = None,
    context_window: opt.ContextWindow = None,
    approval: opt.Approval = None,
    library: opt.LibraryDir = None,
    add_dir: opt.AddDir = None,
    allow_outside: opt.AllowOutside = False,
) -> None:
    settings = opt.build_settings(
        directory=directory, model=model, base_url=base_url, fallback=fallback,
        context_window=context_window, approval=approval, default_approval="ask", library=library,
        add_dir=add_dir, allow_outside=allow_outside, headless=False)
    _open(settings, first_prompt=prompt)


def resume(
    session_id: Annotated[Optional[str], typer.Argument(
        help="The session to continue (an id or its start); default: the latest.")] = None,
    directory: opt.Directory = None,
    model: opt.ModelName = None,
    base_url: opt.BaseUrl = None,
    fallback: opt.Fallback = None,
    context_window: opt.ContextWindow = None,
    approval: opt.Approval = None,
    library: opt.LibraryDir = None,
    add_dir: opt.AddDir = None,
    allow_outside: opt.AllowOutside = False,
) -> None:
    settings = opt.build_settings(
        directory=directory, model=model, base_url=base_url, fallback=fallback,
        context_window=context_window, approval=approval, default_approval="ask", library=library,
        add_dir=add_dir, allow_outside=allow_outside, headless=False)
    _open(settings, resume=session_id or "")


def chat_default() -> None:
    """`agentcli` with no command: a chat in the current folder with the defaults."""
    settings = opt.build_settings(
        directory=None, model=None, base_url=None, fallback=None, context_window=None,
        approval=None, default_approval="ask", library=None, add_dir=None, allow_outside=False,
        headless=False)
    _open(settings)


def _open(settings, first_prompt: str | None = None, resume: str | None = None) -> None:
    from agentcli.ui.chat import ChatApp

    code = ChatApp(settings).run(first_prompt=first_prompt, resume=resume)
    if code:
        raise typer.Exit(code)
