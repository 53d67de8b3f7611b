"""Earlier turns, read back from a session's archive: the list of sessions, and the compact
replay shown when a chat is resumed."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.text import Text

from agentcli.types import Message, ToolCall, ToolResult
from agentcli.ui.markdown_stream import markdown
from agentcli.ui.render import call_title, result_lines

SHOWN_TURNS = 6  # the last turns replayed on resume; /memory finds the rest
ANSWER_LINES = 12


def recent_sessions(library: Any, limit: int = 20) -> list[dict[str, Any]]:
    """The library's session summaries, the one last active first (not the one started last:
    a resumed session is the one the user just left), leaving out sessions with no prompt."""
    from agentcli.library.sessions import list_sessions

    rows = [r for r in list_sessions(library) if r.get("turns")]
    rows.sort(key=lambda r: (_last_active(library, r), r.get("id", "")), reverse=True)
    return rows[:limit]


def _last_active(library: Any, row: dict[str, Any]) -> float:
    """When the session last wrote to its archive (epoch seconds)."""
    from agentcli.library.archive import ARCHIVE_NAME

    try:
        return (library.session_dir(row["id"]) / ARCHIVE_NAME).stat().st_mtime
    except (OSError, KeyError):
        return 0.0


def replay(console: Console, events: Iterable[dict[str, Any]],
           shown_turns: int = SHOWN_TURNS) -> tuple[int, str | None]:
    """Print the last `shown_turns` turns compactly; return how many turns there were and
    when the last compaction happened (its ISO time, or None)."""
    turns: list[list[dict[str, Any]]] = []
    compacted: str | None = None
    for event in events:
        if event.get("type") == "compaction":
            compacted = event.get("ts")
        if event.get("type") == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    hidden = max(0, len(turns) - shown_turns)
    if hidden:
        console.print(Text(f"… {hidden} earlier turn{'s' if hidden != 1 else ''} "
                           "(in the library: /memory QUERY finds them)", style="dim"))
    calls: dict[str, ToolCall] = {}
    for i, turn in enumerate(turns[hidden:]):
        if i:
            console.print()
        for event in turn:
            _replay_event(console, event, calls)
    return len(turns), compacted


def _replay_event(console: Console, event: dict[str, Any], calls: dict[str, ToolCall]) -> None:
    kind = event.get("type")
    if kind == "user":
        text = str(event.get("message", {}).get("content", ""))
        lines = text.splitlines() or [""]
        shown = "\n  ".join(lines[:4]) + (f"\n  … {len(lines) - 4} more lines" if len(lines) > 4 else "")
        console.print(Text("› " + shown, style="bold"))
    elif kind == "assistant":
        message = Message.from_dict(event.get("message", {}))
        text = message.content.strip()
        if text:
            lines = text.splitlines()
            if len(lines) > ANSWER_LINES:
                text = "\n".join(lines[:ANSWER_LINES])
            console.print(markdown(text))
            if len(lines) > ANSWER_LINES:
                console.print(Text(f"  … {len(lines) - ANSWER_LINES} more lines", style="dim"))
        for call in message.tool_calls:
            calls[call.id] = call
    elif kind == "tool_result":
        message = Message.from_dict(event.get("message", {}))
        call = calls.get(message.tool_call_id or "") or ToolCall(message.tool_call_id or "",
                                                                 message.name or "tool", {})
        name, detail = call_title(call)
        line = Text("● ", style="cyan")
        line.append(name, style="bold")
        line.append(("  " + detail) if detail else "")
        console.print(line, overflow="ellipsis", no_wrap=True)
        result = ToolResult(message.content, message.is_error, event.get("meta") or {})
        console.print(result_lines(call, result, float(event.get("elapsed_s") or 0), compact=True))
    elif kind == "model_switch":
        console.print(Text(f"  ⇄ model {event.get('old')} → {event.get('new')}", style="dim"))
    elif kind in ("compaction", "compacted"):
        console.print(Text("  ✂ compacted", style="dim"))
