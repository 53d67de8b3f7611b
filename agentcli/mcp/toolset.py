"""MCP servers' tools as an `agentcli.tools.Toolset`: named `mcp__<server>__<tool>`, described
and shaped as the server says, asked for through the user's approval policy like any tool."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agentcli.config import Settings
from agentcli.events import Emitter
from agentcli.mcp import servers as server_config
from agentcli.mcp.client import Connection, Hub, McpCallError
from agentcli.mcp.results import saver_for, to_tool_result
from agentcli.tools.context import ToolContext, ToolError
from agentcli.types import ToolResult, ToolSpec

PREFIX = "mcp__"
MAX_NAME = 64  # the providers' limit on a tool's name
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_NO_ARGS = {"type": "object", "properties": {}}


def tool_name(server: str, tool: str) -> str:
    return (PREFIX + _UNSAFE.sub("_", server) + "__" + _UNSAFE.sub("_", tool))[:MAX_NAME]


def lean_line(description: str) -> str:
    """The first sentence or line of a description, for small models."""
    first = description.strip().split("\n", 1)[0]
    first = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return first[:120]


def spec_for(server: str, tool: Any) -> ToolSpec:
    """A server's tool (mcp_types.Tool) as the model sees it."""
    description = (tool.description or getattr(tool, "title", None) or tool.name).strip()
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else _NO_ARGS
    if schema.get("type") != "object":
        schema = {**schema, "type": "object"}
    return ToolSpec(name=tool_name(server, tool.name), description=description,
                    parameters=schema, lean_description=lean_line(description))


class McpToolset:
    """The tools of the running servers of a Hub."""

    def __init__(self, hub: Hub, emit: Emitter | None = None):
        self.hub = hub
        self.specs: list[ToolSpec] = []
        self._targets: dict[str, tuple[str, Any]] = {}  # our name -> (server, tool)
        for conn in hub.connections.values():
            if conn.state == "running":
                self._add(conn, emit)

    def _add(self, conn: Connection, emit: Emitter | None) -> None:
        for tool in conn.tools:
            spec = spec_for(conn.spec.name, tool)
            if spec.name in self._targets:  # two names that differ only in unsafe characters
                if emit is not None:
                    emit("notice", level="warning", text=f"MCP server {conn.spec.name!r}: tool "
                         f"{tool.name!r} left out: its name {spec.name} is taken")
                continue
            self._targets[spec.name] = (conn.spec.name, tool)
            self.specs.append(spec)

    def call(self, name: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        server, tool = self._targets[name]
        if not isinstance(args, dict):
            raise ToolError(f"the arguments of {name} must be a JSON object")
        annotations = getattr(tool, "annotations", None)
        kind = "mcp_read" if getattr(annotations, "read_only_hint", None) else "mcp"
        detail = f"{name} {json.dumps(args, ensure_ascii=False)}"
        if not ctx.approve(kind, detail):
            raise ToolError(f"the user declined to run {name}")
        try:
            result = self.hub.call(server, tool.name, args)
        except McpCallError as err:
            raise ToolError(str(err)) from None
        session_dir = getattr(ctx.library, "dir", None)
        save = saver_for(Path(session_dir) / "mcp" if session_dir else None,
                         lambda p: ctx.workspace.display(p), name)
        return to_tool_result(result, save)

    def close(self) -> None:
        self.hub.close()


def open_toolset(settings: Settings, emit: Emitter,
                 found: server_config.Collected | None = None) -> McpToolset | None:
    """Start the servers `settings` name (`found`: as already collected); None when none runs.
    Every failure is a notice (one line each) and the session goes on without that server."""
    try:
        found = found if found is not None else server_config.collect(settings)
    except server_config.McpConfigError as err:  # checked when the settings were built
        emit("notice", level="warning", text=f"{err}; no MCP servers started")
        return None
    for line in found.notices:
        emit("notice", level="warning", text=line)
    if not found.servers:
        return None
    hub = Hub(settings.workspace)
    for conn in hub.start(list(found.servers.values())):
        if conn.state != "running":
            emit("notice", level="warning", text=f"MCP server {conn.spec.name!r} did not start: "
                 f"{conn.error}; going on without it")
    toolset = McpToolset(hub, emit)
    if not toolset.specs:
        hub.close()
        return None
    return toolset
