"""MCP servers' tools in agentcli sessions (the official `mcp` SDK; stdio and streamable HTTP).

`servers` says which servers a session gets (config files, a trusted workspace's .mcp.json,
--mcp-config); `client` holds them open on a background event loop; `toolset` offers their
tools to the session's ToolBox through `Settings.toolsets`; `results` turns what a tool
returned into the text the model reads. See docs/mcp.md.
"""

from __future__ import annotations

from typing import Any


def open_toolset(settings: Any, emit: Any) -> Any:
    """The session's MCP tools (an `agentcli.tools.Toolset`), or None when no server runs."""
    from agentcli.mcp import servers

    try:
        found = servers.collect(settings)
    except servers.McpConfigError:
        found = None  # said by the full path below
    if found is not None and not found.servers and not found.notices:
        return None  # nothing to start: the client and its SDK (a tenth of a second) stay unloaded
    from agentcli.mcp.toolset import open_toolset as _open

    return _open(settings, emit, found)


__all__ = ["open_toolset"]
