"""Options shared by the commands that start a session, and turning them into Settings.

A group of shared options is a dataclass whose fields are typer-annotated (`SessionOptions`
here, `unattended_opts.BudgetOptions`). A command names the group once, as one parameter
(`session: SessionOptions = ALL`, or `= offering("model", ...)` for part of it), and
`@shared_options` puts the group's options into the signature typer reads; the command gets
them back as one object. So each option is defined once, and each command lists only its own.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

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
                      "the rest read-only, /tmp private, no network). auto: on where bwrap works.")]
McpConfig = Annotated[Optional[Path], typer.Option(
    "--mcp-config", help="Also start the MCP servers of this file (.mcp.json format); its servers "
                         "win over those of the config files and the workspace.")]
TrustProject = Annotated[bool, typer.Option(
    "--trust-project", help="Trust this workspace for this run: start the servers of its "
                            ".mcp.json and use all of its agentcli.toml (`agentcli trust` keeps it).")]


def fail(message: str, code: int = 2) -> typing.NoReturn:
    """Print a one-line error and exit."""
    print(f"agentcli: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@dataclass(frozen=True)
class SessionOptions:
    """The options of every command that opens a session (the chat, `run`, `resume`, bare
    `agentcli`; part of them for `reproduce` and `batch`)."""

    directory: Directory = None
    model: ModelName = None
    base_url: BaseUrl = None
    fallback: Fallback = None
    context_window: ContextWindow = None
    approval: Approval = None
    library: LibraryDir = None
    add_dir: AddDir = None
    allow_outside: AllowOutside = False
    sandbox: SandboxMode = None
    mcp_config: McpConfig = None
    trust_project: TrustProject = False

    def given(self) -> bool:
        """Whether any of them was given."""
        return any(getattr(self, f.name) != f.default for f in dataclasses.fields(self))

    def settings(self, *, default_approval: str, headless: bool,
                 max_turns: int | None = None) -> Settings:
        """Settings from these flags, the environment and the config files (flags win); a bad
        value or file ends the command in one line."""
        return build_settings(self, default_approval=default_approval, headless=headless,
                              max_turns=max_turns)


@dataclass(frozen=True)
class Offer:
    """Which options of a group a command offers (all when `names` is empty); the others keep
    their defaults. The default value of the command's group parameter."""

    names: tuple[str, ...] = ()


# Typed Any: each stands as the default of a parameter typed with the group.
def offering(*names: str) -> Any:
    """Offer only these options of a group: `session: SessionOptions = offering("model")`."""
    return Offer(names)


ALL: Any = Offer()  # every option of the group: `session: SessionOptions = ALL`


F = TypeVar("F", bound=Callable[..., Any])


def shared_options(func: F) -> F:
    """Replace each parameter of `func` typed with an option group by the group's options, in
    the signature typer reads; the wrapper gathers them back into one group object. A caller
    may also pass the group object itself under the parameter's name."""
    hints = typing.get_type_hints(func, include_extras=True)
    params: list[inspect.Parameter] = []
    groups: dict[str, tuple[type, tuple[str, ...]]] = {}
    for param in inspect.signature(func).parameters.values():
        group = hints.get(param.name)
        if not (isinstance(group, type) and dataclasses.is_dataclass(group)):
            params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY,
                                        annotation=hints.get(param.name, param.annotation)))
            continue
        fields = {f.name: f for f in dataclasses.fields(group)}
        names = (param.default.names if isinstance(param.default, Offer) else ()) or tuple(fields)
        group_hints = typing.get_type_hints(group, include_extras=True)
        groups[param.name] = (group, names)
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=fields[name].default,
                                     annotation=group_hints[name]) for name in names]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        for name, (group, names) in groups.items():
            if name not in kwargs:
                kwargs[name] = group(**{n: kwargs.pop(n) for n in names if n in kwargs})
        return func(**kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper  # type: ignore[return-value]


def build_settings(options: SessionOptions, *, default_approval: str, headless: bool,
                   max_turns: int | None = None) -> Settings:
    """Settings from the flags, the environment and the config files (flags win); a bad value
    or file ends the command in one line."""
    from agentcli.config import ConfigError, resolve

    o = options
    workspace = (o.directory or Path.cwd()).expanduser()
    if not workspace.is_dir():
        fail(f"no such folder: {workspace}")
    if o.approval is not None and o.approval not in ("ask", "auto", "readonly"):
        fail(f"--approval must be ask, auto or readonly, not {o.approval!r}")
    for extra in o.add_dir or []:
        if not extra.expanduser().is_dir():
            fail(f"--add-dir: no such folder: {extra}")
    if o.mcp_config is not None and not o.mcp_config.expanduser().is_file():
        fail(f"--mcp-config: no such file: {o.mcp_config}")
    flags = {"model": o.model, "fallback": o.fallback, "base_url": o.base_url,
             "context_window": o.context_window, "approval": o.approval, "sandbox": o.sandbox,
             "max_turns": max_turns}
    try:
        settings = resolve(workspace.resolve(), flags, defaults={"approval": default_approval},
                           trust_project=o.trust_project)
    except ConfigError as err:
        fail(str(err))
    _check_sandbox(settings.sandbox, headless)
    settings.allow_outside = o.allow_outside
    settings.extra_dirs = [p.expanduser().resolve() for p in o.add_dir or []]
    settings.library_dir = o.library.expanduser().resolve() if o.library else None
    settings.headless = headless
    settings.mcp_config = o.mcp_config.expanduser().resolve() if o.mcp_config else None
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
