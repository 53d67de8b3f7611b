"""`agentcli chat [PROMPT]`, `agentcli resume [ID]` and bare `agentcli`: the interactive chat.

The terminal UI lives in `agentcli.ui` and is imported only when a chat starts, so `--help`
stays fast.
"""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt

ResumeId = Annotated[Optional[str], typer.Option(
    "--resume", "-r", help="Reopen an earlier chat: an id or its start, or 'latest' for the one "
                           "last active.")]


@opt.shared_options
def chat(
    prompt: Annotated[Optional[str], typer.Argument(
        help="A first prompt to send as the chat opens.")] = None,
    session: opt.SessionOptions = opt.ALL,
    resume_id: ResumeId = None,
) -> None:
    resume = None if resume_id is None else ("" if resume_id in ("", "latest") else resume_id)
    _open(session.settings(default_approval="ask", headless=False), first_prompt=prompt,
          resume=resume)


@opt.shared_options
def resume(
    session_id: Annotated[Optional[str], typer.Argument(
        help="The session to continue (an id or its start); default: the one last active.")] = None,
    session: opt.SessionOptions = opt.ALL,
) -> None:
    _open(session.settings(default_approval="ask", headless=False), resume=session_id or "")


def _open(settings, first_prompt: str | None = None, resume: str | None = None) -> None:
    from agentcli.cli.config_cmd import ask_trust
    from agentcli.ui.chat import ChatApp

    ask_trust(settings)  # an untrusted .mcp.json: asked once, before any server starts

    code = ChatApp(settings).run(first_prompt=first_prompt, resume=resume)
    if code:
        raise typer.Exit(code)
