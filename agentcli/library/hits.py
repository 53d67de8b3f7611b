"""What a search hit is, and which text of an event is searched and shown.

Shared by both ways of searching the library: ranked (`fulltext.py`, SQLite FTS5) and exact
(`exact.py`, ripgrep over the archive lines).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentcli.library.index import oneline

# Derived or bookkeeping events: their words are elsewhere in the archive already.
SKIP_TYPES = {"session_start", "session_resume", "run_end", "compaction", "tool_call"}
# Results of these tools echo the library or the code map; searching them would find echoes.
ECHO_TOOLS = {"memory_search", "memory_read", "code_map"}


@dataclass
class Hit:
    """One event that matches: where it is, what it is, and the text around the match."""

    session_id: str
    event_id: str
    type: str
    label: str
    ts: str
    snippet: str
    score: float
    complete: bool = True  # every word of the query is in the event


def searchable(event: dict[str, Any]) -> bool:
    """Whether an event's words belong in search results (not bookkeeping, not an echo)."""
    if event.get("type") in SKIP_TYPES:
        return False
    message = event.get("message")
    return not (event.get("type") == "tool_result" and isinstance(message, dict)
                and message.get("name") in ECHO_TOOLS)


def event_text(event: dict[str, Any]) -> str:
    """The words of an event, as a person would read them."""
    message = event.get("message")
    if isinstance(message, dict):
        parts = [message.get("content") or ""]
        for call in message.get("tool_calls") or []:
            if call.get("name") in ECHO_TOOLS:
                continue
            args = call.get("arguments")
            parts.append(f"→ {call.get('name')} " + (json.dumps(args, ensure_ascii=False)
                                                     if args is not None else call.get("raw_arguments", "")))
        return "\n".join(p for p in parts if p)
    if event.get("type") == "compaction":
        return event.get("summary") or ""
    rest = {k: v for k, v in event.items() if k not in ("id", "ts", "type")}
    return json.dumps(rest, ensure_ascii=False, default=str)


def event_label(event: dict[str, Any]) -> str:
    """What an event was, in a few words: `tool_result read src/app.py`, `user`, ..."""
    kind = event.get("type", "?")
    message = event.get("message") or {}
    if kind == "tool_result":
        meta = event.get("meta") or {}
        label = f"tool_result {message.get('name', '')}"
        if meta.get("path"):
            label += f" {meta['path']}"
        elif meta.get("command"):
            label += f" `{oneline(meta['command'], 60)}`"
        if meta.get("exit_code") not in (None, 0):
            label += f" exit {meta['exit_code']}"
        return label + (" error" if message.get("is_error") else "")
    if kind == "assistant" and message.get("tool_calls"):
        return "assistant → " + ", ".join(c.get("name", "?") for c in message["tool_calls"])
    return kind
