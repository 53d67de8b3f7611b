"""The `agentcli` command's entry point: the provider keys are hidden before the CLI loads.

`keys.protect` may re-execute the process; doing it before typer and the command modules are
imported means that import is paid once, not twice (about 0.15 s of every start with a key set).
"""

from __future__ import annotations


def main() -> None:
    from agentcli import keys

    keys.protect()
    from agentcli.cli.app import main as run

    run()
