"""The `agentcli` command. Subcommands live in their own modules and import the core lazily,
so `agentcli --version` and `--help` stay fast."""

from __future__ import annotations

import json
import re
import sys
import time
import traceback

import typer

from agentcli import __version__
from agentcli.cli import chat_cmd
from agentcli.cli import options as opt

app = typer.Typer(
    name="agentcli",
    help="A terminal coding agent: chat or run tasks with Claude, GPT or a bundled local model.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _plain_flags() -> None:
    """Help shows a flag as `--force`, not `--force <bool>` (which reads as taking a value), and a
    repeatable option as `<path>`, not `<list[Path]>`."""
    try:
        from typer.core import TyperOption

        shown = TyperOption.display_type_rich
    except (ImportError, AttributeError):  # another typer: its own help is fine
        return

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        if getattr(self, "is_flag", False):
            return None
        text = shown(self, ctx)  # a repeatable option: <path>, not <list[Path]>
        return re.sub(r"list\[(\w+)\]", lambda m: m.group(1).lower(), text) if text else text

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_plain_flags()


def _version(value: bool) -> None:
    if value:
        print(f"agentcli {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
@opt.shared_options
def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    session: opt.SessionOptions = opt.ALL,
    resume_id: chat_cmd.ResumeId = None,
) -> None:
    """With no command, open an interactive chat in the current folder; the chat's options
    (--model, -C, --approval, --sandbox, --resume, …) work here too."""
    from agentcli.config import ConfigError, env

    try:
        env()  # a bad AGENTCLI_* value ends any command here, in one line
    except ConfigError as err:
        opt.fail(str(err))
    if ctx.invoked_subcommand is None:
        chat_cmd.chat(prompt=None, session=session, resume_id=resume_id)
    elif session.given() or resume_id is not None:
        opt.fail(f"put the options after the command: agentcli {ctx.invoked_subcommand} [OPTIONS]")


def _register() -> None:
    from agentcli.cli import (batch_cmd, chat_cmd, config_cmd, local_cmd, mcp_cmd, memory_cmd,
                              reproduce_cmd, run_cmd, sessions_cmd)

    app.command("run", help="Run one task headless and print the answer.")(run_cmd.run)
    app.command("chat", help="Open an interactive chat.")(chat_cmd.chat)
    app.command("resume", help="Reopen an earlier chat, its history shown.")(chat_cmd.resume)
    app.command("reproduce", help="Reproduce a paper's numbers; 'reproduce report' writes REPORT.md.")(
        reproduce_cmd.reproduce)
    app.command("sessions", help="List the sessions kept in this workspace's library.")(
        sessions_cmd.sessions)
    app.add_typer(memory_cmd.app, name="memory")
    app.command("batch", help="Run the unattended tasks of a TOML file, each in its own copy of the "
                              "repository (git worktrees, or Ray workers with --executor ray).")(
        batch_cmd.batch)
    app.add_typer(local_cmd.app, name="local")
    app.add_typer(mcp_cmd.app, name="mcp")
    app.add_typer(config_cmd.app, name="config")
    app.command("trust", help="Trust this workspace: its .mcp.json servers may start, its "
                              "agentcli.toml counts in full.")(config_cmd.trust)


_register()


def main() -> None:
    from agentcli import keys

    keys.protect()  # before anything else runs: may re-execute this process without the keys
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        print("agentcli: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if _is_usage_error(exc):
            print(f"agentcli: error: {_one_line_usage(exc)}", file=sys.stderr)
            sys.exit(getattr(exc, "exit_code", 2))
        if _debug():
            raise
        _crash(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _debug() -> bool:
    """AGENTCLI_DEBUG, where the environment can be read at all."""
    from agentcli.config import ConfigError, env

    try:
        return env().debug
    except ConfigError:
        return False


def _crash(exc: BaseException) -> None:
    """A bug or an unforeseen failure: one line for people, the traceback kept in a file, and
    the JSON shape on stdout when a program asked for JSON."""
    log = _write_crash_log(exc)
    where = f" (traceback in {log})" if log else ""
    message = _redact(" ".join(f"{type(exc).__name__}: {exc}".split())[:300])
    fmt = _output_format(sys.argv[1:])
    if fmt in ("json", "stream-json"):
        obj = {"session_id": None, "result": message, "is_error": True, "stop_reason": "error",
               "num_turns": 0, "usage": None, "cost_usd": None, "duration_s": 0, "model": None}
        print(json.dumps({"type": "result", **obj} if fmt == "stream-json" else obj))
    print(f"agentcli: error: {message}{where}", file=sys.stderr)
    sys.exit(1)


def _output_format(argv: list[str]) -> str | None:
    """The value of --output-format on the command line, if any."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--output-format="):
            return arg.partition("=")[2]
        if arg == "--output-format" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _redact(text: str) -> str:
    try:
        from agentcli.secrets import redact

        return redact(text)
    except Exception:  # the crash may be in there; a key must still not reach the file
        return re.sub(r"\S{24,}", "[long token hidden]", text)


def _write_crash_log(exc: BaseException) -> str | None:
    """The traceback, redacted like everything agentcli writes, in the user cache dir."""
    try:
        from agentcli.local.assets import cache_dir

        folder = cache_dir().parent / "crashes"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / time.strftime("crash-%Y%m%d-%H%M%S.log")
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        with open(path, "a", encoding="utf-8") as f:
            f.write(_redact(f"agentcli {__version__}: {' '.join(sys.argv)}\n{text}"))
        return str(path)
    except Exception:  # a crash log that cannot be written must not hide the crash
        return None


def _is_usage_error(exc: Exception) -> bool:
    """Click's usage errors (unknown flag, missing argument, bad value), wherever typer keeps
    click; an interrupt at a prompt (click's Abort) counts as one too."""
    names = {c.__name__ for c in type(exc).__mro__}
    return "ClickException" in names or "Abort" in names


def _one_line_usage(exc: Exception) -> str:
    """One line instead of click's usage block and framed error box."""
    if type(exc).__name__ == "Abort":
        return "interrupted"
    message = " ".join(str(exc.format_message() if hasattr(exc, "format_message") else exc).split())
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None)
    if command and getattr(ctx, "parent", None) is None:  # the bare command
        return f"{message} (see `{command} --help`; `{command} --version` prints the version)"
    return f"{message} (see `{command} --help`)" if command else message
