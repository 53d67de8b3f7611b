"""Deterministic pieces of compaction: placeholders for old tool results, turn groups, the
recent-turns cut, repairing tool call/result pairing, and the transcript a summary is written from.

Everything here is a pure function of the context entries, so a resumed session rebuilds
exactly the window it had.
"""

from __future__ import annotations

from agentcli.library.context import Entry
from agentcli.library.index import oneline
from agentcli.types import Message, ToolCall

INTERRUPTED = ("interrupted: agentcli stopped before this tool call finished (the process ended); "
               "it was not run again. Check its effects before repeating it.")
# Tool results shorter than this stay as they are: a placeholder would save nothing.
MIN_ELIDE_CHARS = 400


def placeholder(event_id: str, message: Message) -> Message:
    """A one-line stand-in for an old tool result, pointing at its event."""
    text = message.content or ""
    lines = text.count("\n") + 1 if text else 0
    first = oneline(next((ln for ln in text.splitlines() if ln.strip()), ""), 100)
    status = "error, " if message.is_error else ""
    return Message(role="tool", tool_call_id=message.tool_call_id, name=message.name,
                   is_error=message.is_error,
                   content=f"[{message.name or 'tool'} result elided from the window ({status}{lines} "
                           f"lines, {len(text):,} characters; began: {first!r}). Read it in full "
                           f"with memory_read(event=\"{event_id}\").]")


def clip(message: Message, event_id: str, keep_chars: int) -> Message:
    """`message` cut to its first `keep_chars` characters, saying where the whole text is."""
    text = message.content
    note = (f"\n[… {len(text) - keep_chars:,} more characters cut to fit the window; the whole "
            f"text is event {event_id}: memory_read(event=\"{event_id}\", offset=LINE)]")
    return Message(role=message.role, content=text[:keep_chars] + note, tool_calls=message.tool_calls,
                   tool_call_id=message.tool_call_id, name=message.name, is_error=message.is_error)


def elide(entry: Entry) -> Entry:
    """The entry with its tool result replaced by a placeholder (unchanged if not worth it)."""
    if entry.message.role != "tool" or entry.elided or len(entry.message.content) < MIN_ELIDE_CHARS:
        return entry
    return Entry(entry.event_id, placeholder(entry.event_id, entry.message), full=entry.message)


def group_starts(entries: list[Entry]) -> list[int]:
    """Indexes where a turn group starts: a user message, or an assistant message with the tool
    results that answer it. A window may only start at one of these."""
    return [i for i, e in enumerate(entries) if e.message.role != "tool"]


def recent_start(entries: list[Entry], budget_tokens: int) -> int:
    """The first index of the most recent turn groups that fit in `budget_tokens` (always at
    least the last group)."""
    starts = group_starts(entries)
    if not starts:
        return len(entries)
    used = 0
    chosen = starts[-1]
    end = len(entries)
    for start in reversed(starts):
        cost = sum(e.tokens for e in entries[start:end])
        if used + cost > budget_tokens and start != starts[-1]:
            break
        used += cost
        chosen, end = start, start
    return chosen


def repair(entries: list[Entry]) -> tuple[list[Entry], list[tuple[str, ToolCall]]]:
    """Entries where every assistant tool call is directly followed by its result.

    Results are moved next to their call, results whose call is not in the window are dropped,
    and calls without a result are returned as (assistant event id, call) so the caller can
    record a synthetic "interrupted" result for each.
    """
    results: dict[str, Entry] = {}
    for e in entries:
        if e.message.role == "tool" and e.message.tool_call_id:
            results.setdefault(e.message.tool_call_id, e)
    out: list[Entry] = []
    missing: list[tuple[str, ToolCall]] = []
    for e in entries:
        if e.message.role == "tool":
            continue
        out.append(e)
        for call in e.message.tool_calls:
            found = results.pop(call.id, None)
            if found is not None:
                out.append(found)
            else:
                missing.append((e.event_id, call))
    return out, missing


def interrupted_message(call: ToolCall) -> Message:
    return Message(role="tool", content=INTERRUPTED, tool_call_id=call.id, name=call.name,
                   is_error=True)


def transcript(entries: list[Entry], max_chars: int) -> str:
    """The entries as text for the summary request: every message, tool results cut to their
    head and tail, each line tagged with its event id. The oldest lines go first if too long."""
    lines: list[str] = []
    for e in entries:
        m = e.original
        if m.role == "user":
            lines.append(f"[{e.event_id} user] {m.content[:6000]}")
        elif m.role == "assistant":
            text = m.content.strip()
            if text:
                lines.append(f"[{e.event_id} assistant] {text[:3000]}")
            for call in m.tool_calls:
                args = call.raw_arguments or str(call.arguments)
                lines.append(f"[{e.event_id} tool call {call.name}] {oneline(args, 600)}")
        else:
            body = m.content
            if len(body) > 900:
                body = body[:600] + f"\n[… {len(body) - 900:,} characters cut …]\n" + body[-300:]
            flag = " error" if m.is_error else ""
            lines.append(f"[{e.event_id} {m.name or 'tool'} result{flag}] {body}")
    text = "\n".join(lines)
    if len(text) <= max_chars:
        return text
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        if used + len(line) + 1 > max_chars - 200:
            break
        kept.append(line)
        used += len(line) + 1
    omitted = len(lines) - len(kept)
    return (f"[{omitted} earlier lines omitted for length; they are in the library index and archive]\n"
            + "\n".join(reversed(kept)))
