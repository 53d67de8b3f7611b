"""`memory_search` and `memory_read`: the model's way into the session library.

`ctx.library` is the session (it has `.library`, the Library, and `.id`); a bare Library works
too, with no current session.
"""

from __future__ import annotations

from typing import Any

from agentcli.library import Library, LibraryError
from agentcli.library.reading import read_events
from agentcli.library.search import SearchError, format_hits, search
from agentcli.tools.context import ToolContext, ToolError
from agentcli.types import ToolResult

MAX_READ_CHARS, LEAN_MAX_READ_CHARS = 12_000, 4_000


def _where(ctx: ToolContext) -> tuple[Library, str | None]:
    host = ctx.library
    if host is None:
        raise ToolError("the session library is not available in this run")
    if isinstance(host, Library):
        return host, None
    return host.library, getattr(host, "id", None)


def memory_search(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    library, current = _where(ctx)
    query = str(args["query"]).strip()
    if not query:
        raise ToolError("the query is empty; give a few distinctive words")
    only = current if args.get("scope") == "session" else None
    try:
        hits = search(library, query, session_id=only, limit=int(args.get("max_results") or 12),
                      regex=bool(args.get("regex")), exact=bool(args.get("exact")))
    except SearchError as exc:
        raise ToolError(str(exc)) from exc
    return ToolResult(format_hits(hits, query, current),
                      meta={"matches": len(hits), "query": query,
                            "events": [f"{h.session_id}:{h.event_id}" for h in hits[:20]]})


def memory_read(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    library, current = _where(ctx)
    session = args.get("session") or current
    try:
        session = library.resolve_session(session) if session != current or session is None \
            else session
    except LibraryError as exc:
        raise ToolError(str(exc)) from exc
    limit = int(args["limit"]) if args.get("limit") else None
    try:
        text = read_events(library, session, str(args["event"]), offset=int(args.get("offset") or 1),
                           limit=limit, max_chars=LEAN_MAX_READ_CHARS if ctx.lean else MAX_READ_CHARS)
    except ValueError as exc:
        raise ToolError(str(exc)) from exc
    return ToolResult(text, meta={"event": str(args["event"]), "session": session})


TOOLS = {"memory_search": memory_search, "memory_read": memory_read}
