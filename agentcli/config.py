"""Settings of one session, and the one place that works them out: flags > environment >
workspace `agentcli.toml` > user `config.toml` > defaults, remembering where each came from."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from agentcli import configfile
from agentcli.configfile import ConfigError, ConfigFile

__all__ = ["Settings", "ConfigError", "resolve", "ENV", "VARIABLES", "Env", "env", "var"]


def _text(name: str, value: str) -> str:
    return value


def _path(name: str, value: str) -> Path:
    return Path(value).expanduser()


def _flag(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ConfigError(f"{name} must be 1 or 0, not {value!r}")
    return word in ("1", "true", "yes", "on")


def _whole(least: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        if not re.fullmatch(r"-?\d+", value.strip()) or int(value) < least:
            raise ConfigError(f"{name} must be a whole number of at least {least}, not {value!r}")
        return int(value)
    return parse


def _factor(name: str, value: str) -> float:
    try:
        factor = float(value)
    except ValueError:
        factor = -1.0
    if not factor >= 0:
        raise ConfigError(f"{name} must be a number of at least 0, not {value!r}")
    return factor


def _gpu(name: str, value: str) -> str:
    if value.strip().lower() not in ("cuda", ""):
        raise ConfigError(f"{name} must be cuda (or unset), not {value!r}")
    return value.strip().lower()


def _names(name: str, value: str) -> frozenset[str]:
    return frozenset(n.strip().upper() for n in value.split(",") if n.strip())


def _fd(name: str, value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None  # not a number: not agentcli's marker


# Every AGENTCLI_* variable: its field in `Env`, its name, how its text is read, what it does.
# `config show` prints those set with their meaning; tests/test_config.py checks that no other
# module reads one from the environment itself.
_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any], str]] = {
    "model": ("AGENTCLI_MODEL", _text, "the model, as --model"),
    "fallback": ("AGENTCLI_FALLBACK", _text, "the failover chain, as --fallback"),
    "sandbox": ("AGENTCLI_SANDBOX", _text, "auto | on | off, as --sandbox"),
    "approval": ("AGENTCLI_APPROVAL", _text, "ask | auto | readonly, as --approval"),
    "context_window": ("AGENTCLI_CONTEXT_WINDOW", _text, "the model's context window, as --context-window"),
    "home": ("AGENTCLI_HOME", _path, "where session libraries live, instead of <workspace>/.agentcli"),
    "cache_dir": ("AGENTCLI_CACHE_DIR", _path,
                  "agentcli's cache folder: models, the prefix cache, SDK maps, crash logs"),
    "data_dir": ("AGENTCLI_DATA_DIR", _path, "where the chat keeps its input history"),
    "code_map": ("AGENTCLI_CODEMAP", _flag, "0: no code map in the prompt and no code_map tool"),
    "lean": ("AGENTCLI_LEAN", _flag,
             "1/0: treat a model behind a server as small (lean prompt, small-model harness) or not"),
    "local_context": ("AGENTCLI_LOCAL_CONTEXT", _whole(1), "the bundled model's context window, in tokens"),
    "local_threads": ("AGENTCLI_LOCAL_THREADS", _whole(1), "decoding threads of the bundled model"),
    "local_gpu_layers": ("AGENTCLI_LOCAL_GPU_LAYERS", _whole(-1),
                         "layers of the bundled model offloaded to a GPU"),
    "local_prefix_cache": ("AGENTCLI_LOCAL_PREFIX_CACHE", _flag,
                           "0: do not keep the system turn's KV cache on disk"),
    "gpu": ("AGENTCLI_GPU", _gpu, "cuda: `agentcli local build` builds llama.cpp for CUDA"),
    "pass_env": ("AGENTCLI_PASS_ENV", _names,
                 "comma-separated variables that commands get although they look like secrets"),
    "debug": ("AGENTCLI_DEBUG", _flag, "1: print the traceback of an unforeseen error"),
    "outage_wait_scale": ("AGENTCLI_OUTAGE_WAIT_SCALE", _factor,
                          "a factor on unattended runs' waits for a failing provider (tests)"),
    "worker_crash_after": ("AGENTCLI_TEST_WORKER_CRASH_AFTER", _whole(0),
                           "tests: the model worker crashes after this many tokens"),
    "keys_fd": ("AGENTCLI_KEYS_FD", _fd,
                "set by agentcli itself: the pipe that hands provider keys to its re-executed copy"),
}
# Settings an environment variable can give: name in Settings (or base_urls.<provider>) -> variable.
ENV = {**{key: _VARIABLES[key][0] for key in ("model", "fallback", "sandbox", "approval", "context_window")},
       "base_urls.anthropic": "ANTHROPIC_BASE_URL", "base_urls.openai": "OPENAI_BASE_URL"}
# The others, by name, with what they do.
VARIABLES = {name: meaning for key, (name, _, meaning) in _VARIABLES.items()
             if name not in ENV.values()}
PREFIX = "AGENTCLI_"
LOCAL_PREFIX = "AGENTCLI_LOCAL_"  # the bundled model's settings, which its worker process keeps


@dataclass(frozen=True)
class Env:
    """agentcli's environment variables, read and checked in one place (`env()`). Unset or
    empty, a variable leaves its default. The five that are settings (model … context_window)
    stay text here: `resolve` checks them, naming where each came from."""

    model: str | None = None
    fallback: str | None = None
    sandbox: str | None = None
    approval: str | None = None
    context_window: str | None = None
    home: Path | None = None
    cache_dir: Path | None = None
    data_dir: Path | None = None
    code_map: bool = True
    lean: bool | None = None  # None: by the model's name
    local_context: int | None = None
    local_threads: int | None = None
    local_gpu_layers: int | None = None
    local_prefix_cache: bool = True
    gpu: str = ""
    pass_env: frozenset[str] = frozenset()
    debug: bool = False
    outage_wait_scale: float = 1.0
    worker_crash_after: int = 0  # 0: never
    keys_fd: int | None = None


def env(environ: Mapping[str, str] | None = None) -> Env:
    """The variables of `environ` (default: this process's environment), parsed; the one reader
    of AGENTCLI_* variables, in every process (the llama.cpp worker and Ray workers call it
    too). Raises ConfigError (one line) for a bad value."""
    source = os.environ if environ is None else environ
    return _parse(tuple(sorted((k, v) for k, v in source.items() if k.startswith(PREFIX))))


@functools.lru_cache(maxsize=16)
def _parse(items: tuple[tuple[str, str], ...]) -> Env:
    given = dict(items)
    values = {}
    for key, (name, parse, _) in _VARIABLES.items():
        text = given.get(name, "")
        if text.strip():
            values[key] = parse(name, text)
    return Env(**values)


def var(key: str) -> str:
    """The name of the variable behind `Env.<key>`, for those who set it for a child process
    or keep it from one."""
    return _VARIABLES[key][0]


def take_keys_fd() -> int | None:
    """AGENTCLI_KEYS_FD, taken out of the environment (the processes this one starts must not
    inherit it) and read alone: a bad setting elsewhere is for the command to report."""
    return env({KEYS_FD: os.environ.pop(KEYS_FD, "")}).keys_fd


# Variables agentcli sets for processes it starts: its re-executed copy (the keys' pipe), the
# llama.cpp worker (a crash, in tests). They are read back through env() there.
KEYS_FD = var("keys_fd")
WORKER_CRASH_AFTER = var("worker_crash_after")


def variables_set(environ: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(name, value, what it does) of each of agentcli's variables set, for `config show`."""
    source = os.environ if environ is None else environ
    return [(name, source[name], meaning) for name, meaning in VARIABLES.items() if name in source]


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
    code_map: bool = field(default_factory=lambda: env().code_map)
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


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    parsed = env(environ)
    out: dict[str, Any] = {}
    for key, name in ENV.items():
        value = environ.get(name) if "." in key else getattr(parsed, key)
        if value:
            out[key] = value
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
