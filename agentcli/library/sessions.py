"""What `agentcli sessions` lists: one summary per session, from its meta.json or its archive."""

from __future__ import annotations

import json
from typing import Any

from agentcli.library.archive import ARCHIVE_NAME, read_events
from agentcli.library.index import SessionIndex


def session_info(library, session_id: str) -> dict[str, Any]:
    """id, started, last_activity, model, turns, events, compactions, first_request, ..."""
    folder = library.session_dir(session_id)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if isinstance(meta, dict) and meta.get("id") == session_id:
            return meta
    except (OSError, ValueError):
        pass
    # No meta.json (a process killed before its first turn ended): read the archive.
    index = SessionIndex(library, session_id)
    for record in read_events(folder / ARCHIVE_NAME):
        index.observe(record)
    return index.meta()


def list_sessions(library) -> list[dict[str, Any]]:
    """Every session of the library, oldest first."""
    return [session_info(library, sid) for sid in library.session_ids()]
