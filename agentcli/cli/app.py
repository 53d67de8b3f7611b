"""The `agentcli` command. Subcommands live in their own modules and import the core lazily,
so `agentcli --version` and `--help` stay fast."""

from __future__ import annotations

import sys

import typer

from agentcli import __version__

app = typer.Typer(
    name="agentcli",
    help="A terminal coding agent: chat or run tasks with Claude, GPT or a bundled local model.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"agentcli {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """With no command, open an interactive chat in the current folder."""
    if ctx.invoked_subcommand is None:
        from agentcli.cli import chat_cmd

        chat_cmd.chat_default()


def _register() -> None:
    from agentcli.cli import chat_cmd, local_cmd, run_cmd

    app.command("run", help="Run one task headless and print the answer.")(run_cmd.run)
    app.command("chat", help="Open an interactive chat.")(chat_cmd.chat)
    app.add_typer(local_cmd.app, name="local")


_register()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("agentcli: interrupted", file=sys.stderr)
        sys.exit(130)
