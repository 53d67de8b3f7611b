"""`agentcli mcp list` and `agentcli mcp add NAME -- CMD ARGS…`: the MCP servers a session gets."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt

app = typer.Typer(help="MCP servers: list them (state and tools), add one to your config.",
                  no_args_is_help=True)


@app.command("list")
def list_servers(
    directory: opt.Directory = None,
    mcp_config: opt.McpConfig = None,
    trust_project: opt.TrustProject = False,
) -> None:
    """Start each configured server, then show its state and its tools, and stop it again."""
    from agentcli.mcp.client import Hub
    from agentcli.mcp.servers import McpConfigError, collect
    from agentcli.mcp.toolset import tool_name

    settings = _settings(directory, mcp_config, trust_project)
    try:
        found = collect(settings)
    except McpConfigError as err:
        opt.fail(str(err))
    for line in found.notices:
        typer.echo(f"agentcli: {line}", err=True)
    if not found.servers and not found.untrusted:
        typer.echo("No MCP servers configured (agentcli mcp add NAME -- COMMAND ARGS…, or a "
                   ".mcp.json in the workspace).")
        return
    hub = Hub(settings.workspace)
    try:
        conns = {c.spec.name: c for c in hub.start(list(found.servers.values()))}
    finally:
        hub.close()
    for name, conn in conns.items():
        typer.echo(f"{name}  {conn.spec.describe()}  ({_home(conn.spec.source)})")
        if conn.state in ("running", "stopped"):
            typer.echo(f"  running: {len(conn.tools)} tool(s)")
            for tool in conn.tools:
                about = (tool.description or "").strip().split("\n", 1)[0][:80]
                typer.echo(f"    {tool_name(name, tool.name)}" + (f"  {about}" if about else ""))
        else:
            typer.echo(f"  failed: {conn.error}")
    for name in found.untrusted:
        typer.echo(f"{name}  ({_home(str(settings.workspace / '.mcp.json'))})")
        typer.echo("  not started: the workspace is not trusted (agentcli trust)")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The server's name: its tools are mcp__NAME__TOOL.")],
    command: Annotated[Optional[list[str]], typer.Argument(
        help="After --: the program and its arguments (stdio).", show_default=False)] = None,
    url: Annotated[Optional[str], typer.Option(
        "--url", help="A streamable HTTP server's URL, instead of a command.")] = None,
    env: Annotated[Optional[list[str]], typer.Option(
        "--env", "-e", help="KEY=VALUE for the server's environment (repeatable).")] = None,
    header: Annotated[Optional[list[str]], typer.Option(
        "--header", help="'Name: value' sent to an HTTP server (repeatable).")] = None,
) -> None:
    """Write [mcp_servers.NAME] into your config.toml (replacing a server of that name)."""
    import os

    from agentcli import configfile, tomlwrite
    from agentcli.mcp.servers import McpConfigError, from_toml

    if bool(command) == bool(url):
        opt.fail("give either a command after -- (agentcli mcp add NAME -- CMD ARGS…) or --url URL")
    table: dict = {"url": url} if url else {"command": command[0], "args": command[1:]}
    table["env"] = _pairs(env, "=", "--env")
    table["headers"] = _pairs(header, ":", "--header")
    table = {k: v for k, v in table.items() if v or k in ("command", "url")}
    path = configfile.user_path(os.environ)
    try:
        current = configfile.load(path)  # a bad file is reported, not overwritten
        check = configfile.ConfigFile(path, {"mcp_servers": {name: table}}, "")
        from_toml(name, table, check, {})
    except (configfile.ConfigError, McpConfigError) as err:
        opt.fail(str(err))
    replaced = bool(current and name in current.data.get("mcp_servers", {}))
    tomlwrite.set_table(path, ["mcp_servers", name], table)
    typer.echo(f"{'replaced' if replaced else 'added'} MCP server {name!r} in {path}")


def _pairs(items: list[str] | None, sep: str, flag: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            opt.fail(f"{flag} takes KEY{sep}VALUE, not {item!r}")
        out[key.strip()] = value.strip() if sep == ":" else value
    return out


def _settings(directory: Path | None, mcp_config: Path | None, trust_project: bool):
    return opt.SessionOptions(directory=directory, mcp_config=mcp_config,
                              trust_project=trust_project).settings(default_approval="auto",
                                                                    headless=True)


def _home(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path
