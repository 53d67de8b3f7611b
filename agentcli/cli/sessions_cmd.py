"""`agentcli sessions`: the sessions kept in this workspace's library, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt


def library_for(directory: Path | None, library: Path | None):
    """The Library of a workspace, as the session commands would open it."""
    from agentcli.library import Library

    workspace = (directory or Path.cwd()).expanduser()
    if not workspace.is_dir():
        opt.fail(f"no such folder: {workspace}")
    return Library.for_workspace(workspace.resolve(),
                                 library.expanduser().resolve() if library else None)


def sessions(
    directory: opt.Directory = None,
    library: opt.LibraryDir = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="Show at most N sessions.",
                                                 min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List sessions: id, start, last activity, model, turns, first request."""
    from agentcli.library.sessions import list_sessions

    lib = library_for(directory, library)
    lib.prune_empty_sessions()  # folders of failed starts by older versions
    found = list(reversed(list_sessions(lib)))
    if limit:
        found = found[:limit]
    if as_json:
        for info in found:
            print(json.dumps(info, ensure_ascii=False))
        return
    if not found:
        print(f"no sessions yet in {lib.root}")
        return
    print(f"{'ID':<22} {'STARTED':<16} {'LAST ACTIVITY':<16} {'MODEL':<30} {'TURNS':>5}  FIRST REQUEST")
    for info in found:
        first = " ".join(str(info.get("first_request", "")).split())
        print(f"{info['id']:<22} {_time(info.get('started')):<16} {_time(info.get('last_activity')):<16} "
              f"{str(info.get('model', ''))[:30]:<30} {info.get('turns', 0):>5}  {first[:60]}")
    print(f"\nContinue one with: agentcli run --resume ID \"PROMPT\"")


def _time(ts: str | None) -> str:
    """An archive timestamp (UTC) in local time, to the minute."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).astimezone().strftime(
            "%Y-%m-%d %H:%M")
    except ValueError:
        return (ts or "")[:16]
