"""`agentcli config show` (the merged settings and where each came from) and `agentcli trust`."""

from __future__ import annotations

import os
import sys

import typer

from agentcli.cli import options as opt

app = typer.Typer(help="agentcli's settings: `config show` prints them with their sources.",
                  no_args_is_help=True)


@app.command("show")
def show(directory: opt.Directory = None, trust_project: opt.TrustProject = False) -> None:
    """Print every setting, its value, and where it came from (flag, environment, a file, default)."""
    from agentcli import configfile
    from agentcli.config import SHOWN, variables_set

    settings = opt.SessionOptions(directory=directory, trust_project=trust_project).settings(
        default_approval="auto", headless=True)
    values = {"model": settings.model, "fallback": settings.fallback, "base_url": settings.base_url,
              "approval": settings.approval, "sandbox": settings.sandbox,
              "context_window": settings.context_window, "max_turns": settings.max_turns}
    values.update({f"base_urls.{k}": v for k, v in settings.base_urls.items()})
    values.update({f"budgets.{k}": v for k, v in settings.budgets.items()})
    user = configfile.user_path(os.environ)
    typer.echo(f"user file:      {user}" + ("" if user.exists() else " (none)"))
    ws_file = settings.workspace / configfile.WORKSPACE_FILE
    if ws_file.exists():
        trusted = settings.trust_project or configfile.trusted(settings.user_config(), settings.workspace,
                                                               configfile.WORKSPACE_FILE)
        typer.echo(f"workspace file: {ws_file} ({'trusted' if trusted else 'not trusted'})")
    width = max(len(k) for k in SHOWN)
    for key in SHOWN:
        value = values.get(key)
        source = settings.sources.get(key, "default")
        shown = "(not set)" if value is None else (",".join(value) or "none") \
            if isinstance(value, list) else value
        if key == "model" and value is None:
            shown = "(by the API keys set, else the bundled model)"
        typer.echo(f"{key:<{width}}  {shown}  [{source}]")
    if "approval" not in settings.sources or settings.sources["approval"] == "default":
        typer.echo("(approval's default is auto for `run`, ask for a chat)")
    set_here = variables_set()
    if set_here:
        typer.echo("environment:")
        for name, value, meaning in set_here:
            typer.echo(f"  {name}={value}  ({meaning})")


def trust(directory: opt.Directory = None) -> None:
    """Trust this workspace: start the servers of its .mcp.json and use all of its agentcli.toml,
    as they are now (a changed file needs trust again)."""
    from pathlib import Path

    from agentcli import configfile

    workspace = (directory or Path.cwd()).expanduser().resolve()
    if not workspace.is_dir():
        opt.fail(f"no such folder: {workspace}")
    path = configfile.user_path(os.environ)
    try:
        configfile.record_trust(path, workspace)
    except configfile.ConfigError as err:
        opt.fail(str(err))
    files = [name for name in (configfile.MCP_JSON, configfile.WORKSPACE_FILE)
             if (workspace / name).is_file()]
    typer.echo(f"trusted {workspace}" + (f" ({', '.join(files)} as they are now)" if files else "")
               + f"; recorded in {path}")
    if not files:
        print("agentcli: there is no .mcp.json or agentcli.toml here yet; one written later needs "
              "`agentcli trust` again", file=sys.stderr)


def ask_trust(settings) -> None:  # type: ignore[no-untyped-def]
    """In a chat, ask once whether to trust a workspace's .mcp.json that is not trusted; the
    answer (yes or no) is recorded for the file as it is now."""
    from agentcli import configfile
    from agentcli.mcp.servers import McpConfigError, read_json_file, workspace_trusted

    project = settings.workspace / configfile.MCP_JSON
    if not project.is_file() or workspace_trusted(settings) or not sys.stdin.isatty() or \
            configfile.declined(settings.user_config(), settings.workspace):
        return
    try:
        names = sorted(read_json_file(project, os.environ))
    except McpConfigError:
        return  # the session says what is wrong with it
    if not names:
        return
    try:
        answer = input(f"This workspace's .mcp.json starts programs: {', '.join(names)}. "
                       "Trust it and start them? [y/N] ").strip().lower()
    except EOFError:
        answer = "n"
    try:
        configfile.record_trust(settings.user_file, settings.workspace, trust=answer in ("y", "yes"))
        others = [f for f in settings.files if f.path != settings.user_file]
        settings.files = [configfile.load(settings.user_file), *others]  # the user's file first
    except configfile.ConfigError as err:
        print(f"agentcli: {err}", file=sys.stderr)
