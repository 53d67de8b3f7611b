"""Which MCP servers a session gets, and from where; later sources win by name.

1. `[mcp_servers.NAME]` of the user's config.toml (Codex's keys: `command`, `args`, `env`,
   `cwd`, or `url` with `headers`/`http_headers` and `bearer_token_env_var`; also
   `startup_timeout_sec`, `tool_timeout_sec`, `enabled`), then of a trusted workspace's
   agentcli.toml;
2. `.mcp.json` at the workspace root (Claude Code's format, `${VAR}` and `${VAR:-default}`
   expanded), only where the user trusts the workspace;
3. `--mcp-config FILE`, in the same format.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from agentcli import configfile
from agentcli.config import Settings

STARTUP_TIMEOUT_S = 10.0
TOOL_TIMEOUT_S = 60.0
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpConfigError(Exception):
    """A server entry agentcli cannot use: one line naming the file, the line and the key."""


@dataclass
class ServerSpec:
    """One server as configured: a command to start (stdio) or a URL (streamable HTTP)."""

    name: str
    source: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = STARTUP_TIMEOUT_S
    tool_timeout: float = TOOL_TIMEOUT_S

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def describe(self) -> str:
        """`stdio: cmd args` or `http: url`, for `agentcli mcp list`."""
        if self.url:
            return f"http {self.url}"
        return "stdio " + " ".join([self.command or "", *self.args])


@dataclass
class Collected:
    """The servers to start, and lines to show once (skipped servers, bad files)."""

    servers: dict[str, ServerSpec] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)  # .mcp.json servers not started


def collect(settings: Settings, env: Mapping[str, str] | None = None) -> Collected:
    """The servers for `settings`. A bad entry in a config file or in --mcp-config raises
    McpConfigError; a bad workspace .mcp.json is a notice, and its servers are left out (a
    file kept for another tool must not stop agentcli)."""
    env = os.environ if env is None else env
    out = Collected()
    for file in settings.files:
        for name, table in (file.data.get("mcp_servers") or {}).items():
            spec = from_toml(name, table, file, env)
            if spec is not None:
                out.servers[name] = spec
    project = settings.workspace / configfile.MCP_JSON
    if project.is_file():
        try:
            found = read_json_file(project, env)
        except McpConfigError as err:
            out.notices.append(f"{err}; its servers are left out")
            found = {}
        if found and not workspace_trusted(settings):
            out.untrusted = sorted(found)
            out.notices.append(
                f"{project}: not starting {', '.join(out.untrusted)}: this workspace's .mcp.json is "
                "not trusted (run `agentcli trust` here, or pass --trust-project)")
        elif found:
            out.servers.update(found)
    if settings.mcp_config is not None:
        out.servers.update(read_json_file(settings.mcp_config, env))
    return out


def workspace_trusted(settings: Settings) -> bool:
    """Whether the servers of the workspace's .mcp.json, as it is now, may start."""
    return settings.trust_project or configfile.trusted(settings.user_config(), settings.workspace,
                                                        configfile.MCP_JSON)


def from_toml(name: str, table: dict[str, Any], file: configfile.ConfigFile,
              env: Mapping[str, str]) -> ServerSpec | None:
    """A `[mcp_servers.NAME]` table (Codex's keys); None where `enabled = false`."""
    def bad(key: str, problem: str) -> McpConfigError:
        keys = ["mcp_servers", name] + ([key] if key else [])
        return McpConfigError(f"{file.path}:{file.line_of(*keys)}: {'.'.join(keys)}: {problem}")

    if table.get("enabled") is False:
        return None
    headers = {**_strings(table.get("http_headers"), bad, "http_headers"),
               **_strings(table.get("headers"), bad, "headers")}
    token_var = table.get("bearer_token_env_var")
    if isinstance(token_var, str) and env.get(token_var):
        headers.setdefault("Authorization", f"Bearer {env[token_var]}")
    return _spec(name, str(file.path), table, headers, bad,
                 startup=table.get("startup_timeout_sec"), tool=table.get("tool_timeout_sec"))


def read_json_file(path: Path, env: Mapping[str, str]) -> dict[str, ServerSpec]:
    """The servers of a Claude Code style file: {"mcpServers": {NAME: {...}}}."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as err:
        raise McpConfigError(f"{path}: cannot read it: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line = getattr(err, "lineno", 1)
        raise McpConfigError(f"{path}:{line}: not valid JSON: {getattr(err, 'msg', err)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise McpConfigError(f"{path}:1: mcpServers: must be an object of servers by name")
    servers: dict[str, ServerSpec] = {}
    for name, entry in data.get("mcpServers", {}).items():
        def bad(key: str, problem: str, name: str = name) -> McpConfigError:
            needle = f'"{key}"' if key else f'"{name}"'
            line = next((n for n, raw in enumerate(text.splitlines(), 1) if needle in raw), 1)
            return McpConfigError(f"{path}:{line}: mcpServers.{name}{'.' + key if key else ''}: {problem}")

        if not isinstance(entry, dict):
            raise bad("", "must be an object with command or url")
        kind = entry.get("type", "http" if "url" in entry else "stdio")
        if kind not in ("stdio", "http", "streamable-http"):
            raise bad("type", f"{kind!r} is not supported (stdio and http are)")
        entry = _expand(entry, env)
        headers = _strings(entry.get("headers"), bad, "headers")
        servers[name] = _spec(name, str(path), entry, headers, bad)
    return servers


def _spec(name: str, source: str, entry: dict[str, Any], headers: dict[str, str], bad,
          startup: Any = None, tool: Any = None) -> ServerSpec:
    if not _NAME.match(name):
        raise bad("", "a server's name is letters, digits, _ and - (40 at most)")
    command, url = entry.get("command"), entry.get("url")
    if (command is None) == (url is None):
        raise bad("", "needs either command (a program to start) or url (streamable HTTP)")
    if command is not None and (not isinstance(command, str) or not command.strip()):
        raise bad("command", "must be a program name or path")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise bad("url", "must be an http:// or https:// URL")
    args = entry.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise bad("args", "must be a list of strings")
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise bad("cwd", "must be a folder")
    spec = ServerSpec(name=name, source=source, command=command, args=list(args),
                      env=_strings(entry.get("env"), bad, "env"), cwd=cwd, url=url, headers=headers)
    for key, value, attr in (("startup_timeout_sec", startup, "startup_timeout"),
                             ("tool_timeout_sec", tool, "tool_timeout")):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise bad(key, "must be a number of seconds")
            setattr(spec, attr, float(value))
    return spec


def _strings(value: Any, bad, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise bad(key, "must be a table of strings")
    return {str(k): v for k, v in value.items()}


def _expand(value: Any, env: Mapping[str, str]) -> Any:
    """Claude Code's `${VAR}` and `${VAR:-default}` in the strings of a .mcp.json entry."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, list):
        return [_expand(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, env) for k, v in value.items()}
    return value
