"""The `agentcli` command's entry point: the provider keys are hidden before the CLI loads, and
the process ends without tearing the interpreter down.

`keys.protect` may re-execute the process; doing it before typer and the command modules are
imported means that import is paid once, not twice (about 0.15 s of every start with a key set).

Python's own shutdown frees every module and object one by one: with a provider SDK loaded that
is about 0.1 s after the answer is printed, paid by every script that waits for the command.
Everything agentcli must keep is on disk before then (the archive is flushed at each event and
synced at the end of a run, the indexes are committed), so once the command has returned, the
exit hooks ran and the output is flushed, the process ends at once. A thread still running
(one that is not a daemon) gets the normal shutdown, which waits for it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def main() -> None:
    from agentcli import keys

    keys.protect()
    from agentcli.cli.app import main as run

    try:
        run()
    except SystemExit as exc:
        _end(exc)
    raise AssertionError("unreachable: the CLI always exits")  # pragma: no cover


def _end(exc: SystemExit) -> None:
    """Exit with `exc`'s status: at once where nothing is left to wait for."""
    code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what SystemExit("message") prints on a normal exit
        code = 1
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        raise exc
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`agentcli run … | head`): nothing to keep
            pass
    os._exit(code or 0)
