"""`agentcli chat [PROMPT]`, `agentcli resume [ID]` and bare `agentcli`: the interactive chat.

The terminal UI lives in `agentcli.ui` and is imported only when a chat starts, so `--help`
stays fast.
"""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt

Sandbox = Annotated[Optional[str], typer.Option(
    "--sandbox", help="auto | on | off: run shell commands under bubblewrap (workspace writable, "
                      "the rest read-only, /tmp private, no network). auto: on where bwrap works.")]
ResumeId = Annotated[Optional[str], typer.Option(
    "--resume", "-r", help="Reopen an earlier chat: an id or its start, or 'latest' for the one "
                           "last active.")]


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
    sandbox: Sandbox = None,
    resume_id: ResumeId = None,
    mcp_config: opt.McpConfig = None,
    trust_project: opt.TrustProject = False,
) -> None:
    settings = _settings(directory, model, base_url, fallback, context_window, approval, library,
                         add_dir, allow_outside, sandbox, mcp_config, trust_project)
    resume = None if resume_id is None else ("" if resume_id in ("", "latest") else resume_id)
    _open(settings, first_prompt=prompt, resume=resume)


def resume(
    session_id: Annotated[Optional[str], typer.Argument(
        help="The session to continue (an id or its start); default: the one last active.")] = None,
    directory: opt.Directory = None,
    model: opt.ModelName = None,
    base_url: opt.BaseUrl = None,
    fallback: opt.Fallback = None,
    context_window: opt.ContextWindow = None,
    approval: opt.Approval = None,
    library: opt.LibraryDir = None,
    add_dir: opt.AddDir = None,
    allow_outside: opt.AllowOutside = False,
    sandbox: Sandbox = None,
    mcp_config: opt.McpConfig = None,
    trust_project: opt.TrustProject = False,
) -> None:
    settings = _settings(directory, model, base_url, fallback, context_window, approval, library,
                         add_dir, allow_outside, sandbox, mcp_config, trust_project)
    _open(settings, resume=session_id or "")


# The chat's options, for bare `agentcli` (the root command's callback takes the same ones).
CHAT_OPTIONS = ("directory", "model", "base_url", "fallback", "context_window", "approval",
                "library", "add_dir", "allow_outside", "sandbox", "resume_id", "mcp_config",
                "trust_project")


def chat_default(**options) -> None:
    """`agentcli` with no command: a chat in the current folder (or -C), with the chat's options."""
    flags = ("allow_outside", "trust_project")
    chat(prompt=None, **{name: options.get(name, False if name in flags else None)
                         for name in CHAT_OPTIONS})


def _settings(directory, model, base_url, fallback, context_window, approval, library, add_dir,
              allow_outside, sandbox, mcp_config=None, trust_project=False):
    return opt.build_settings(
        directory=directory, model=model, base_url=base_url, fallback=fallback,
        context_window=context_window, approval=approval, default_approval="ask", library=library,
        add_dir=add_dir, allow_outside=allow_outside, headless=False, sandbox=sandbox,
        mcp_config=mcp_config, trust_project=trust_project)


def _open(settings, first_prompt: str | None = None, resume: str | None = None) -> None:
    from agentcli.cli.config_cmd import ask_trust
    from agentcli.ui.chat import ChatApp

    ask_trust(settings)  # an untrusted .mcp.json: asked once, before any server starts

    code = ChatApp(settings).run(first_prompt=first_prompt, resume=resume)
    if code:
        raise typer.Exit(code)
