"""Tools the model can call: specs from the `tools/` folder, implementations dispatched by name.

Every failure of a call (unknown tool, unparseable or invalid arguments, a refused path, a
crash inside the tool) becomes an error result for the model. Only an interrupt escapes.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable, Protocol

from agentcli.resources import data_dir
from agentcli.tools.context import ToolContext, ToolError, Workspace
from agentcli.tools.schema import SchemaError, validate
from agentcli.types import REFUSED, ToolCall, ToolResult, ToolSpec

__all__ = ["ToolBox", "ToolContext", "ToolError", "ToolFn", "Workspace", "load_spec", "IMPLEMENTATIONS",
           "CORE_TOOLS", "Toolset"]

# The core tools: name -> "module:function", imported on first use. Each function takes (args,
# ctx) and returns a ToolResult. Features bring their own tools as functions (`ToolBox.adding`):
# the library its memory and code map, reproduce its checks, unattended runs progress and finish.
IMPLEMENTATIONS: dict[str, str] = {
    "shell": "agentcli.tools.shell:run",
    "grep": "agentcli.tools.search:grep",
    "glob": "agentcli.tools.search:glob",
    "read": "agentcli.tools.files:read",
    "write": "agentcli.tools.files:write",
    "edit": "agentcli.tools.files:edit",
}

CORE_TOOLS = list(IMPLEMENTATIONS)

ToolFn = Callable[[dict, ToolContext], ToolResult]


class Toolset(Protocol):
    """Tools that come from outside agentcli's own table (an MCP server's), added to a session
    through `Settings.toolsets` and `ToolContext.toolsets`. Their calls go through the same
    dispatch as built-in tools (and so the same archive, redaction and events); the set checks
    its own arguments, since its schemas are its own."""

    specs: list[ToolSpec]

    def call(self, name: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Run tool `name`; raise ToolError for a failure the model should read."""
        ...

    def close(self) -> None:
        """Stop whatever the set started (server processes, connections)."""
        ...


def load_spec(name: str) -> ToolSpec:
    """The spec the model sees for `name`, from `tools/<name>.json`."""
    data = json.loads((data_dir("tools") / f"{name}.json").read_text(encoding="utf-8"))
    return ToolSpec(name=data["name"], description=data["description"],
                    parameters=data["parameters"], lean_description=data.get("lean_description"),
                    lean_parameters=data.get("lean_parameters"))


def _resolve(target: str) -> ToolFn:
    module, _, fn = target.partition(":")
    return getattr(importlib.import_module(module), fn)


class ToolBox:
    """A set of enabled tools and the dispatcher that runs calls against them."""

    def __init__(self, names: list[str], ctx: ToolContext, extra: dict[str, ToolFn] | None = None):
        self.extra = dict(extra or {})  # a feature's tools: name -> function
        unknown = [n for n in names if n not in IMPLEMENTATIONS and n not in self.extra]
        if unknown:
            raise ValueError(f"no implementation for tool(s): {', '.join(unknown)}")
        self.names = list(dict.fromkeys(names))
        self.ctx = ctx
        self.specs = [load_spec(n) for n in self.names]
        self._owner: dict[str, Toolset] = {}
        for toolset in ctx.toolsets:
            for spec in toolset.specs:
                if spec.name not in IMPLEMENTATIONS and spec.name not in self.extra and spec.name not in self._owner:
                    self._owner[spec.name] = toolset
                    self.specs.append(spec)
        self._by_name = {s.name: s for s in self.specs}

    def adding(self, tools: dict[str, ToolFn]) -> ToolBox:
        """This box with a feature's `tools` added (and the context's toolsets looked at again)."""
        return ToolBox(self.names + [n for n in tools if n not in self.names], self.ctx,
                       {**self.extra, **tools})

    def dispatch(self, call: ToolCall) -> ToolResult:
        """Run one call and return its result; every failure is an error result, never a raise."""
        if call.arguments is None:
            detail = call.parse_error or "arguments are not valid JSON"
            if detail.startswith(REFUSED):
                return ToolResult(f"error: {call.name} was not run: {detail[len(REFUSED):]}", is_error=True)
            return ToolResult(f"error: could not parse the tool call {call.name!r}: {detail}. Send "
                              "one call as a JSON object with the tool's name and its arguments.",
                              is_error=True)
        spec = self._by_name.get(call.name)
        if spec is None:
            return ToolResult(f"error: unknown tool {call.name!r}; available tools: "
                              f"{', '.join(s.name for s in self.specs)}", is_error=True)
        owner = self._owner.get(call.name)
        try:
            args = call.arguments if owner is not None else validate(call.arguments, spec.parameters)
        except SchemaError as exc:
            return ToolResult(f"error: invalid arguments for {call.name}: {exc}", is_error=True)
        try:
            if owner is not None:
                result = owner.call(call.name, args, self.ctx)
            else:
                fn = self.extra.get(call.name) or _resolve(IMPLEMENTATIONS[call.name])
                result = fn(args, self.ctx)
        except ToolError as exc:
            return ToolResult(f"error: {exc}", is_error=True)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug or an OS failure inside a tool must not end the session
            return ToolResult(f"error: {call.name} failed: {type(exc).__name__}: {exc}", is_error=True)
        return result
