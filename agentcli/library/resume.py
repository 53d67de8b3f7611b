"""Resume: rebuild a session's window from its archive.

The window is what the last compaction boundary says it was (its head message, the events kept
verbatim from `kept_from` on, the tool results it had elided) plus every event after it. A tool
call the process never answered (it was killed mid-tool) is reported, so the session records a
synthetic "interrupted" result instead of running it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcli.library.archive import check_format, id_number, read_events
from agentcli.library.context import Context, Entry
from agentcli.library.trim import elide, repair
from agentcli.models.catalog import cost_usd
from agentcli.types import Message, ToolCall, Usage

CONVERSATION = ("user", "assistant", "tool_result")


@dataclass
class Rebuilt:
    """What a session had when its archive ended."""

    context: Context
    missing: list[tuple[str, ToolCall]] = field(default_factory=list)
    compactions: int = 0
    summary: str | None = None
    turns: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0
    model: str | None = None  # the model the session chose (not a failover's stand-in)
    events: int = 0


def message_of(event: dict[str, Any]) -> Message:
    """The message an event put in the window: a spilled result's preview, not its full text."""
    message = Message.from_dict(event["message"])
    if event.get("type") == "tool_result" and event.get("shown") is not None:
        message.content = event["shown"]
    return message


def rebuild(path: Path) -> Rebuilt:
    """Read the archive at `path` once and rebuild the window it describes."""
    out = Rebuilt(Context())
    entries: list[Entry] = []
    boundary: dict[str, Any] | None = None
    since = Usage()  # assistant usage after the last run_end, whose totals are the base
    since_turns = 0
    for event in read_events(path):
        out.events += 1
        kind = event.get("type")
        if kind == "session_start":
            check_format(event, path)
            out.model = event.get("model") or out.model
        elif kind == "session_resume":
            out.model = event.get("model") or out.model
        elif kind == "model_switch" and "by the user" in str(event.get("reason", "")):
            out.model = event.get("new") or out.model  # failovers are not a choice to keep
        elif kind == "compaction":
            boundary = event
            start = id_number(event["kept_from"]) if event.get("kept_from") else id_number(event["id"])
            entries = [e for e in entries if id_number(e.event_id) >= start]
        elif kind == "run_end" and isinstance(event.get("usage"), dict):
            out.usage = Usage.from_dict(event["usage"])
            out.turns = int(event.get("turns") or 0)
            since, since_turns = Usage(), 0
        if kind in CONVERSATION and isinstance(event.get("message"), dict):
            entries.append(Entry(event["id"], message_of(event)))
        if kind == "assistant":
            usage = Usage.from_dict(event.get("usage") or {})
            since.add(usage)
            since_turns += 1
            cost = cost_usd(event.get("model") or "", usage)
            out.cost = None if cost is None or out.cost is None else round(out.cost + cost, 6)
    out.usage.add(since)
    out.turns += since_turns
    summary_head = None
    if boundary is not None:
        elided = set(boundary.get("elided") or [])
        entries = [elide(e) if e.event_id in elided else e for e in entries]
        summary_head = boundary.get("head")
        out.compactions = int(boundary.get("n") or 0)
        out.summary = boundary.get("summary")
    entries, out.missing = repair(entries)
    out.context.replace(entries, summary_head)
    return out
