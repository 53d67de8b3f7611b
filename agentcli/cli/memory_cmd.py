"""`agentcli memory search|show`: read the session library as a person."""

from __future__ import annotations

import json
import re
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt
from agentcli.cli.sessions_cmd import library_for

app = typer.Typer(help="Search and read the session library (what agentcli remembers).",
                  no_args_is_help=True, add_completion=False)

SessionOpt = Annotated[Optional[str], typer.Option(
    "--session", "-s", help="Only this session (its id or the start of it).")]
_EVENT = re.compile(r"^e?\d+((-|\.\.)e?\d+)?$")


@app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="A few words, any form and order (\"quoted phrase\" allowed); "
                                              "exact strings with --exact, a regex with --regex.")],
    session: SessionOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Most events to show.", min=1, max=50)] = 12,
    exact: Annotated[bool, typer.Option("--exact", help="Match the words exactly as written, not ranked.")] = False,
    regex: Annotated[bool, typer.Option("--regex", help="QUERY is a regular expression.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
    directory: opt.Directory = None,
    library: opt.LibraryDir = None,
) -> None:
    """Find events in this workspace's sessions, best first; hits show session, event id and a snippet."""
    from agentcli.library import LibraryError
    from agentcli.library.search import SearchError, format_hits, search

    if not query.strip():
        opt.fail("the query is empty")
    lib = library_for(directory, library)
    try:
        sid = lib.resolve_session(session) if session else None
        hits = search(lib, query, session_id=sid, limit=limit, regex=regex, exact=exact)
    except (LibraryError, SearchError) as exc:
        opt.fail(str(exc), 1)
    if as_json:
        for h in hits:
            print(json.dumps(h.__dict__, ensure_ascii=False))
    else:
        print(format_hits(hits, query, cli=True))
    if not hits:
        raise typer.Exit(1)


@app.command("show")
def show_cmd(
    target: Annotated[Optional[str], typer.Argument(
        help="A session id (prints its INDEX.md), an event id or range like e000123 or "
             "e000120-e000125 (prints the events), or 'summary' (the latest summary).")] = None,
    session: SessionOpt = None,
    offset: Annotated[int, typer.Option("--offset", help="For one long event: first line.", min=1)] = 1,
    lines: Annotated[Optional[int], typer.Option("--lines", help="For one long event: most lines.",
                                                 min=1)] = None,
    directory: opt.Directory = None,
    library: opt.LibraryDir = None,
) -> None:
    """Show a session's index, its latest summary, or events in full (default: the newest session)."""
    from agentcli.library import LibraryError
    from agentcli.library.reading import NoEvent, read_events

    lib = library_for(directory, library)
    is_event = bool(target and _EVENT.match(target))
    try:
        if target and ":" in target and _EVENT.match(target.rsplit(":", 1)[1]):
            session, target = target.rsplit(":", 1)
            is_event = True
        sid = lib.resolve_session(session if (is_event or target == "summary") else (target or session))
    except LibraryError as exc:
        opt.fail(str(exc), 1)
    folder = lib.session_dir(sid)
    if is_event:
        try:
            print(read_events(lib, sid, target, offset=offset, limit=lines, max_chars=10**9, cli=True))
        except NoEvent as exc:
            opt.fail(str(exc), 1)
        except ValueError as exc:
            opt.fail(str(exc))
        return
    if target == "summary":
        summaries = sorted((folder / "summaries").glob("*.md"))
        if not summaries:
            opt.fail(f"session {sid} has not been compacted yet; it has no summary", 1)
        print(summaries[-1].read_text(encoding="utf-8"), end="")
        return
    index = folder / "INDEX.md"
    if not index.exists():
        from agentcli.library.archive import read_events as archive_events
        from agentcli.library.index import SessionIndex

        rebuilt = SessionIndex(lib, sid)
        for record in archive_events(folder / "events.jsonl"):
            rebuilt.observe(record)
        print(rebuilt.render(), end="")
        return
    print(index.read_text(encoding="utf-8"), end="")
