"""Searching the library: ranked by default, exact (ripgrep) on request.

Ranked search (`fulltext.py`) finds events by the words a model would use, in another order and
form ("nightly backups uploaded" finds "the nightly backup job uploads archives"), the rarest
words weighing most. Exact search (`exact.py`) finds a string as written, or a regular
expression, in the raw archive lines: identifiers, error text, parts of words. A ranked search
that finds nothing, or cannot run, is answered by the exact one.
"""

from __future__ import annotations

import re
from pathlib import Path

from agentcli.library.archive import ARCHIVE_NAME
from agentcli.library.exact import SearchError, search_exact
from agentcli.library.fulltext import Unavailable
from agentcli.library.hits import Hit

__all__ = ["Hit", "SearchError", "search", "terms_of", "format_hits", "DEFAULT_LIMIT", "MAX_LIMIT"]

DEFAULT_LIMIT = 12
MAX_LIMIT = 50

# Words that say what kind of question it is, not what it is about.
STOP_WORDS = {"a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from",
              "how", "in", "is", "it", "of", "on", "or", "the", "to", "was", "were", "what", "when",
              "where", "which", "who", "why", "with"}


def terms_of(query: str) -> list[str]:
    """Words of the query; "quoted phrases" stay whole; stop words go unless nothing else is left."""
    parts = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', query)]
    words = [p for p in dict.fromkeys(p.strip() for p in parts) if p]
    kept = [w for w in words if w.lower() not in STOP_WORDS and len(w) > 1]
    return kept or words


def search(library, query: str, *, session_id: str | None = None, limit: int = DEFAULT_LIMIT,
           regex: bool = False, exact: bool = False) -> list[Hit]:
    """Events matching `query` in one session (`session_id`) or all of the workspace, best first.

    By default the search is ranked: words match in any form (stemmed), events holding more of
    them first, rare words weighing most. `exact=True` matches each word as written
    (case-insensitively), events holding all the words (or the whole phrase) first, newer
    before older; `regex=True` runs one regular expression over the raw archive lines.
    """
    sessions = [session_id] if session_id else library.session_ids()
    paths = {str(library.session_dir(s) / ARCHIVE_NAME): s for s in sessions}
    paths = {p: s for p, s in paths.items() if Path(p).exists()}
    terms = [query] if regex else terms_of(query)
    if not paths or not terms:
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    if not (regex or exact):
        try:
            hits = library.fulltext.search(terms, list(paths.values()), limit)
        except Unavailable:
            hits = []
        if hits:
            return hits
    return search_exact(paths, terms, query, limit, regex)


def format_hits(hits: list[Hit], query: str, current: str | None = None, *, cli: bool = False) -> str:
    """Hits as the memory tool (or, with `cli`, `agentcli memory search`) prints them."""
    if not hits:
        return (f"no events match {query!r}. Try fewer or other words, a distinctive name or "
                f"number, or {'--exact or --regex' if cli else 'exact=true or regex=true'}.")
    out = [f"{len(hits)} event(s) match {query!r}, best first:"]
    for h in hits:
        where = "this session" if h.session_id == current else f"session {h.session_id}"
        out.append(f"{h.event_id} · {h.label} · {where} · {h.ts[:19]}")
        out.append(f"    {h.snippet}")
    if cli:
        return "\n".join(out + [f"Show an event in full: agentcli memory show "
                                f"{hits[0].session_id}:{hits[0].event_id}"])
    past = next((h.session_id for h in hits if h.session_id != current), None)
    hint = f'Read an event in full: memory_read(event="{hits[0].event_id}"'
    hint += f', session="{hits[0].session_id}")' if hits[0].session_id != current else ")"
    if past and hits[0].session_id == current:
        hint += f'; for a past session add session="{past}"'
    return "\n".join(out + [hint + "."])
