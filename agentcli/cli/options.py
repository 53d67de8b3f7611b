"""Options shared by the commands that start a session, and turning them into Settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.config import Settings

Directory = Annotated[Optional[Path], typer.Option(
    "-C", "--directory", help="Work in this folder instead of the current one.")]
ModelName = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="provider/name, e.g. anthropic/claude-sonnet-4-5, openai/gpt-5, "
                          "local/qwen2.5-coder-1.5b. Default: by the API keys set, else local.")]
BaseUrl = Annotated[Optional[str], typer.Option(
    "--base-url", help="API base URL for the model, e.g. an OpenAI-compatible server.")]
Fallback = Annotated[Optional[str], typer.Option(
    "--fallback", help="Failover chain after the model, comma-separated, or 'none'. "
                       "Default: the bundled local model where installed.")]
ContextWindow = Annotated[Optional[int], typer.Option(
    "--context-window", help="Override the model's context window, in tokens.", min=1024)]
Approval = Annotated[Optional[str], typer.Option(
    "--approval", help="ask | auto | readonly: which commands and writes need a yes.")]
LibraryDir = Annotated[Optional[Path], typer.Option(
    "--library", help="Keep the session library here instead of <workspace>/.agentcli.")]
AddDir = Annotated[Optional[list[Path]], typer.Option(
    "--add-dir", help="Also allow reading and writing this folder (repeatable).")]
AllowOutside = Annotated[bool, typer.Option(
    "--allow-outside", help="Allow reads and writes anywhere, not only in the workspace.")]
SandboxMode = Annotated[Optional[str], typer.Option(
    "--sandbox", help="auto | on | off: run shell commands under bubblewrap (workspace writable, "
                      "the rest read-only, no network). auto: on in headless runs where bwrap works.")]


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit."""
    print(f"agentcli: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


McpConfig = Annotated[Optional[Path], typer.Option(
    "--mcp-config", help="Also start the MCP servers of this file (.mcp.json format); its servers "
                         "win over those of the config files and the workspace.")]
TrustProject = Annotated[bool, typer.Option(
    "--trust-project", help="Trust this workspace for this run: start the servers of its "
                            ".mcp.json and use all of its agentcli.toml (`agentcli trust` keeps it).")]


def build_settings(*, directory: Path | None, model: str | None, base_url: str | None,
                   fallback: str | None, context_window: int | None, approval: str | None,
                   default_approval: str, library: Path | None, add_dir: list[Path] | None,
                   allow_outside: bool, headless: bool, max_turns: int | None = None,
                   sandbox: str | None = None, mcp_config: Path | None = None,
                   trust_project: bool = False) -> Settings:
    """Settings from the flags, the environment and the config files (flags win); a bad value
    or file ends the command in one line."""
    from agentcli.config import ConfigError, resolve

    workspace = (directory or Path.cwd()).expanduser()
    if not workspace.is_dir():
        fail(f"no such folder: {workspace}")
    if approval is not None and approval not in ("ask", "auto", "readonly"):
        fail(f"--approval must be ask, auto or readonly, not {approval!r}")
    for extra in add_dir or []:
        if not extra.expanduser().is_dir():
            fail(f"--add-dir: no such folder: {extra}")
    if mcp_config is not None and not mcp_config.expanduser().is_file():
        fail(f"--mcp-config: no such file: {mcp_config}")
    flags = {"model": model, "fallback": fallback, "base_url": base_url,
             "context_window": context_window, "approval": approval, "sandbox": sandbox,
             "max_turns": max_turns}
    try:
        settings = resolve(workspace.resolve(), flags, defaults={"approval": default_approval},
                           trust_project=trust_project)
    except ConfigError as err:
        fail(str(err))
    _check_sandbox(settings.sandbox, headless)
    settings.allow_outside = allow_outside
    settings.extra_dirs = [p.expanduser().resolve() for p in add_dir or []]
    settings.library_dir = library.expanduser().resolve() if library else None
    settings.headless = headless
    settings.mcp_config = mcp_config.expanduser().resolve() if mcp_config else None
    from agentcli.mcp.servers import McpConfigError, collect

    try:
        collect(settings)  # a bad server entry ends the command now, not when a session opens
    except McpConfigError as err:
        fail(str(err))
    settings.toolsets.append(_mcp_toolset)
    for notice in settings.notices:
        print(f"agentcli: {notice}", file=sys.stderr)
    return settings


def _mcp_toolset(settings: Settings, emit):  # type: ignore[no-untyped-def]
    """The MCP servers' tools, opened when a session opens (agentcli.mcp)."""
    from agentcli.mcp import open_toolset

    return open_toolset(settings, emit)


def _check_sandbox(mode: str | None, headless: bool) -> None:
    """Refuse a bad --sandbox, or `on` where bwrap cannot run, before anything starts."""
    from agentcli.sandbox import SandboxError, choose

    try:
        choose(mode, headless=headless)
    except SandboxError as err:
        fail(str(err))
