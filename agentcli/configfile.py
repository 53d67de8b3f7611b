"""agentcli's config files: the user's `config.toml` and a workspace's `agentcli.toml`.

Reading, checking and trust records live here; which value wins is `config.resolve`'s job.
A bad file is a `ConfigError` whose message is one line naming the file, the line and the key.

Trust: a cloned repository must not run programs or redirect a provider (and the key sent
with it) on its own say-so. `agentcli trust` records the workspace with a SHA-256 of its
`.mcp.json` and `agentcli.toml` in the user file, under `[projects."<path>"]`; a file that
changed since needs trust again.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the backport has the same interface
    import tomli as tomllib

from agentcli import tomlwrite

USER_FILE = "config.toml"
WORKSPACE_FILE = "agentcli.toml"
MCP_JSON = ".mcp.json"

MODES = {"approval": ("ask", "auto", "readonly"), "sandbox": ("auto", "on", "off")}
# key -> accepted types. Budgets are those of `agentcli run` (unattended runs only).
SCALARS: dict[str, tuple[type, ...]] = {
    "model": (str,), "fallback": (str, list), "base_url": (str,), "approval": (str,),
    "sandbox": (str,), "context_window": (int,), "max_turns": (int,),
}
TABLES = {"base_urls": ("anthropic", "openai"), "budgets": ("max_time", "max_cost", "max_tokens"),
          "mcp_servers": None, "projects": None}
# What an untrusted workspace file may not set: programs to run, where a key is sent, how much
# of the user's machine commands may touch.
NEEDS_TRUST = ("base_url", "base_urls", "mcp_servers", "approval", "sandbox")


class ConfigError(Exception):
    """A config file agentcli cannot use; the message is one line: file:line: key: problem."""


@dataclass
class ConfigFile:
    """One parsed file: its data and where each top-level key is written."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def line_of(self, *keys: str) -> int:
        return line_of(self.text, list(keys))


def config_dir(env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/agentcli, else ~/.config/agentcli."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base).expanduser() / "agentcli"


def user_path(env: Mapping[str, str]) -> Path:
    return config_dir(env) / USER_FILE


def load(path: Path, *, workspace_file: bool = False) -> ConfigFile | None:
    """The parsed file, None when there is none. Raises ConfigError (one line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(_syntax_error(path, text, str(err))) from None
    file = ConfigFile(path, data, text)
    check(file, workspace_file=workspace_file)
    return file


def _syntax_error(path: Path, text: str, message: str) -> str:
    m = re.search(r"\(at line (\d+), column \d+\)", message)
    if not m:
        return f"{path}: not valid TOML: {message}"
    n = int(m.group(1))
    line = text.splitlines()[n - 1] if 0 < n <= len(text.splitlines()) else ""
    name = re.match(r"\s*\[*\s*([^=\]]+?)\s*[=\]]", line)
    where = f" key {name.group(1)!r}:" if name else ""
    return f"{path}:{n}:{where} not valid TOML: {message[:m.start()].strip()}"


def check(file: ConfigFile, *, workspace_file: bool) -> None:
    """Known keys with values of the right kind; ConfigError names the first that is not."""
    for name, val in file.data.items():
        if name in SCALARS:
            _check_scalar(file, name, val)
        elif name in TABLES:
            if not isinstance(val, dict):
                _bad(file, [name], "must be a table")
            allowed = TABLES[name]
            for sub, subval in val.items():
                if allowed is not None and sub not in allowed:
                    _bad(file, [name, sub], f"unknown key; known: {', '.join(allowed)}")
                if name == "base_urls" and not isinstance(subval, str):
                    _bad(file, [name, sub], "must be a string (a URL)")
                if name == "budgets" and not isinstance(subval, (str, int, float)):
                    _bad(file, [name, sub], "must be a string like '8h' or '2M', or a number")
                if name in ("mcp_servers", "projects") and not isinstance(subval, dict):
                    _bad(file, [name, sub], "must be a table")
            if name == "projects" and workspace_file:
                _bad(file, [name], "trust is recorded in the user's config file only")
        else:
            known = sorted([*SCALARS, *TABLES])
            _bad(file, [name], f"unknown key; known keys: {', '.join(known)}")


def _check_scalar(file: ConfigFile, name: str, val: Any) -> None:
    types = SCALARS[name]
    if isinstance(val, bool) or not isinstance(val, types):
        _bad(file, [name], f"must be {' or '.join(_kind(t) for t in types)}, not {val!r}")
    if name in MODES and val not in MODES[name]:
        modes = MODES[name]
        _bad(file, [name], f"must be {', '.join(modes[:-1])} or {modes[-1]}, not {val!r}")
    if name == "fallback" and isinstance(val, list) and not all(isinstance(x, str) for x in val):
        _bad(file, [name], "must be a list of model names")
    if name in ("context_window", "max_turns") and val < 1:
        _bad(file, [name], f"must be a positive number, not {val}")


def _kind(t: type) -> str:
    return {str: "a string", int: "a whole number", list: "a list"}.get(t, t.__name__)


def _bad(file: ConfigFile, keys: list[str], problem: str) -> None:
    raise ConfigError(f"{file.path}:{file.line_of(*keys)}: {'.'.join(keys)}: {problem}")


def line_of(text: str, keys: list[str]) -> int:
    """The line (1-based) where `keys` (e.g. ["mcp_servers", "docs", "command"]) is written:
    `k = …` under its table's header, or the header itself; 1 where it cannot be told."""
    lines = text.splitlines()
    table: list[str] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith("["):
            table = tomlwrite._split_key(line.strip("[]").strip()) or []
            if table == keys:
                return n
            continue
        m = re.match(r"([^=]+?)\s*=", line)
        if not m or line.startswith("#"):
            continue
        written = table + (tomlwrite._split_key(m.group(1)) or [])
        if written == keys or (len(keys) > len(table) and written[:len(keys)] == keys):
            return n
    return next((n for n, raw in enumerate(lines, 1) if keys[-1] in raw), 1)


# -- trust ------------------------------------------------------------------------------------

def file_hash(path: Path) -> str | None:
    """SHA-256 of a file's bytes; None when it does not exist or cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _record_key(name: str) -> str:
    return name.lstrip(".").replace(".", "_") + "_sha256"


def trusted(user: ConfigFile | None, workspace: Path, name: str) -> bool:
    """Whether the user trusts `name` (MCP_JSON or WORKSPACE_FILE) of `workspace` as it is now."""
    if user is None:
        return False
    record = user.data.get("projects", {}).get(str(workspace))
    if not isinstance(record, dict) or record.get("trust_level") != "trusted":
        return False
    current = file_hash(workspace / name)
    return current is not None and record.get(_record_key(name)) == current


def declined(user: ConfigFile | None, workspace: Path) -> bool:
    """Whether the user said no to this workspace's `.mcp.json`, as it is now (chat asks once)."""
    record = (user.data.get("projects", {}) if user else {}).get(str(workspace)) or {}
    return bool(record.get("declined_" + _record_key(MCP_JSON))) and \
        record.get("declined_" + _record_key(MCP_JSON)) == file_hash(workspace / MCP_JSON)


def record_trust(user_file: Path, workspace: Path, *, trust: bool = True) -> dict[str, Any]:
    """Trust `workspace`'s .mcp.json and agentcli.toml as they are now (or record a "no" to
    them); returns the record written."""
    current = load(user_file)  # a bad user file is reported, not overwritten
    record = dict((current.data.get("projects", {}) if current else {}).get(str(workspace)) or {})
    if trust:
        record = {"trust_level": "trusted"}
        for name in (MCP_JSON, WORKSPACE_FILE):
            digest = file_hash(workspace / name)
            if digest:
                record[_record_key(name)] = digest
    else:
        record["declined_" + _record_key(MCP_JSON)] = file_hash(workspace / MCP_JSON) or ""
    tomlwrite.set_table(user_file, ["projects", str(workspace)], record)
    return record
