"""Settings of one session, and the one place that works them out: flags > environment >
workspace `agentcli.toml` > user `config.toml` > defaults, remembering where each came from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from agentcli import configfile
from agentcli.configfile import ConfigError, ConfigFile

__all__ = ["Settings", "ConfigError", "resolve", "ENV", "VARIABLES"]

# Settings an environment variable can give: name in Settings (or base_urls.<provider>) -> variable.
ENV = {"model": "AGENTCLI_MODEL", "fallback": "AGENTCLI_FALLBACK", "sandbox": "AGENTCLI_SANDBOX",
       "approval": "AGENTCLI_APPROVAL", "context_window": "AGENTCLI_CONTEXT_WINDOW",
       "base_urls.anthropic": "ANTHROPIC_BASE_URL", "base_urls.openai": "OPENAI_BASE_URL"}
# Every other variable agentcli reads, and what it does. They are read where they act, some in
# processes that have no Settings (the llama.cpp worker, a Ray worker); this is the one list of
# them (tests/test_config.py checks that the code reads no other), and `config show` prints those
# set.
VARIABLES = {
    "AGENTCLI_HOME": "where session libraries live, instead of <workspace>/.agentcli",
    "AGENTCLI_CACHE_DIR": "agentcli's cache folder: models, the prefix cache, SDK maps, crash logs",
    "AGENTCLI_DATA_DIR": "where the chat keeps its input history",
    "AGENTCLI_CODEMAP": "0: no code map in the prompt and no code_map tool",
    "AGENTCLI_LEAN": "1/0: treat a model behind a server as small (lean prompt, small-model harness) or not",
    "AGENTCLI_LOCAL_CONTEXT": "the bundled model's context window, in tokens",
    "AGENTCLI_LOCAL_THREADS": "decoding threads of the bundled model",
    "AGENTCLI_LOCAL_GPU_LAYERS": "layers of the bundled model offloaded to a GPU",
    "AGENTCLI_LOCAL_PREFIX_CACHE": "0: do not keep the system turn's KV cache on disk",
    "AGENTCLI_GPU": "cuda: `agentcli local build` builds llama.cpp for CUDA",
    "AGENTCLI_PASS_ENV": "comma-separated variables that commands get although they look like secrets",
    "AGENTCLI_DEBUG": "1: print the traceback of an unforeseen error",
    "AGENTCLI_OUTAGE_WAIT_SCALE": "a factor on unattended runs' waits for a failing provider (tests)",
    "AGENTCLI_TEST_WORKER_CRASH_AFTER": "tests: the model worker crashes after this many tokens",
    "AGENTCLI_KEYS_FD": "set by agentcli itself: the pipe that hands provider keys to its re-executed copy",
}
# What `config show` lists, in this order.
SHOWN = ("model", "fallback", "base_url", "base_urls.anthropic", "base_urls.openai", "approval",
         "sandbox", "context_window", "max_turns", "budgets.max_time", "budgets.max_cost",
         "budgets.max_tokens")


@dataclass
class Settings:
    """Everything a session needs to know before it starts.

    `model` None means the default (by the keys set); `fallback` None means the default chain
    (the bundled model after the primary, where it is installed), [] means no failover.
    `sources` says where each resolved value came from (`config show`); `files` are the config
    files in force (user, then workspace), which features read their own tables from;
    `toolsets` open tool sets beside the built-in tools when a session opens
    (`agentcli.tools.Toolset`).
    """

    workspace: Path = field(default_factory=Path.cwd)
    model: str | None = None
    fallback: list[str] | None = None
    base_url: str | None = None
    base_urls: dict[str, str] = field(default_factory=dict)
    context_window: int | None = None
    max_turns: int | None = None
    max_output_tokens: int = 8192
    approval: str = "auto"
    allow_outside: bool = False
    extra_dirs: list[Path] = field(default_factory=list)
    library_dir: Path | None = None
    compact_threshold: float = 0.8
    cooldown_s: float = 300.0
    request_timeout: float = 600.0  # seconds without a byte from the provider before giving up
    headless: bool = True
    sandbox: str | None = None  # auto | on | off; None: AGENTCLI_SANDBOX, else auto
    # The code map's head in the system prompt and the code_map tool (AGENTCLI_CODEMAP=0: neither).
    code_map: bool = field(default_factory=lambda: os.environ.get("AGENTCLI_CODEMAP", "1") != "0")
    budgets: dict[str, Any] = field(default_factory=dict)  # max_time, max_cost, max_tokens
    sources: dict[str, str] = field(default_factory=dict)
    files: list[ConfigFile] = field(default_factory=list)
    user_file: Path | None = None
    trust_project: bool = False  # --trust-project: trust the workspace's files for this run
    mcp_config: Path | None = None  # --mcp-config FILE
    notices: list[str] = field(default_factory=list)  # for the front end to show once
    toolsets: list[Callable[..., Any]] = field(default_factory=list)

    def user_config(self) -> ConfigFile | None:
        """The user's config file as read when these settings were worked out."""
        return next((f for f in self.files if f.path == self.user_file), None)


def resolve(workspace: Path, flags: Mapping[str, Any], *, defaults: Mapping[str, Any] | None = None,
            env: Mapping[str, str] | None = None, trust_project: bool = False) -> Settings:
    """Settings for `workspace` from the flags given (None: not given), the environment and the
    config files. Raises ConfigError (one line) for a bad file or value."""
    env = os.environ if env is None else env
    user_file = configfile.user_path(env)
    user = configfile.load(user_file)
    ws = configfile.load(workspace / configfile.WORKSPACE_FILE, workspace_file=True)
    notices: list[str] = []
    trusted = trust_project or configfile.trusted(user, workspace, configfile.WORKSPACE_FILE)
    if ws is not None and not trusted:
        held = [k for k in configfile.NEEDS_TRUST if k in ws.data]
        if held:
            notices.append(f"{ws.path}: ignored {', '.join(held)}: this workspace is not trusted "
                           "(`agentcli trust` trusts it; --trust-project for one run)")
            ws = ConfigFile(ws.path, {k: v for k, v in ws.data.items() if k not in held}, ws.text)
    layers: list[tuple[str, dict[str, Any]]] = [("default", dict(defaults or {}))]
    for file in (user, ws):
        if file is not None:
            layers.append((str(file.path), _flatten(file.data)))
    layers.append(("environment", _from_env(env)))
    layers.append(("flag", {k: v for k, v in flags.items() if v is not None}))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source, layer in layers:
        for key, val in layer.items():
            values[key], sources[key] = val, (f"{source} ({ENV[key]})" if source == "environment" else source)
    _check_values(values, sources)
    return Settings(
        workspace=workspace, model=values.get("model"), fallback=_fallback(values.get("fallback")),
        base_url=values.get("base_url"), context_window=values.get("context_window"),
        max_turns=values.get("max_turns"), approval=values.get("approval", "auto"),
        sandbox=values.get("sandbox"),
        base_urls={k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("base_urls.")},
        budgets={k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("budgets.")},
        sources=sources, files=[f for f in (user, ws) if f is not None], user_file=user_file,
        trust_project=trust_project, notices=notices)


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in configfile.SCALARS}
    for table in ("base_urls", "budgets"):
        out.update({f"{table}.{k}": v for k, v in (data.get(table) or {}).items()})
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, var in ENV.items():
        if env.get(var):
            out[key] = env[var]
    return out


def _check_values(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Values from the environment arrive as text; a bad one is named with where it came from."""
    for key, allowed in configfile.MODES.items():
        val = values.get(key)
        if val is not None and str(val).strip().lower() not in allowed:
            choices = f"{', '.join(allowed[:-1])} or {allowed[-1]}, not {val!r}"
            raise ConfigError(f"--{key} must be {choices}" if sources[key] == "flag" else
                              f"{key} must be {choices} (from {sources[key]})")
        if val is not None:
            values[key] = str(val).strip().lower()
    window = values.get("context_window")
    if isinstance(window, str):
        if not window.strip().isdigit() or int(window) < 1024:
            raise ConfigError(f"context_window must be a number of tokens of at least 1024, not "
                              f"{window!r} (from {sources['context_window']})")
        values["context_window"] = int(window)


def _fallback(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if value is None or not str(value).strip():
        return None
    if str(value).strip().lower() == "none":
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]
