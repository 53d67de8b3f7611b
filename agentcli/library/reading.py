"""Reading the library: events in full by id, long ones paged by line, huge outputs from their
spill file. What `memory_read` and `agentcli memory show` print."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agentcli.library.archive import ARCHIVE_NAME, find_events
from agentcli.library.hits import event_label, event_text


def parse_range(spec: str) -> tuple[int, int]:
    """"e000123" -> (123, 123); "e120-e125" or "120..125" -> (120, 125). ValueError if bad."""
    m = re.fullmatch(r"\s*e?(\d+)\s*(?:(?:-|\.\.|–)\s*e?(\d+))?\s*", spec or "")
    if not m:
        raise ValueError(f"not an event id or range: {spec!r} (write e000123 or e000120-e000125)")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else first
    if last < first:
        first, last = last, first
    return first, last


class NoEvent(ValueError):
    """The session has no event with the id (or in the range) asked for."""


def read_events(library, session_id: str, spec: str, *, offset: int = 1, limit: int | None = None,
                max_chars: int = 12_000, cli: bool = False) -> str:
    """Events `spec` of a session in full; one long event is paged by line (`offset`, `limit`).
    A result kept in a spill file (a command's large output) is paged through that file. Hints
    name the tool's arguments, or with `cli` the flags of `agentcli memory show`. Raises
    ValueError for a malformed id, NoEvent when the session has no such event."""
    first, last = parse_range(spec)
    if last - first >= 200:
        last = first + 199
    path = library.session_dir(session_id) / ARCHIVE_NAME
    events = find_events(path, max(1, first - 30), last)
    calls = {}
    for e in events:
        for c in (e.get("message") or {}).get("tool_calls") or []:
            calls[c.get("id")] = c
    events = [e for e in events if first <= int(str(e.get("id", "e0")).lstrip("e") or 0) <= last]
    if not events:
        count = _last_id(path)
        raise NoEvent(f"no event {spec} in session {session_id}" +
                      (f" (its events are e000001-e{count:06d})" if count else " (it has no events)"))
    if len(events) == 1:
        full = _full_output(library, session_id, events[0])
        if full is not None:
            return _page_file(full, _header(events[0], calls), offset, limit, max_chars, cli)
        return _one(events[0], calls, offset, limit, max_chars, cli)
    out: list[str] = []
    used = 0
    for i, e in enumerate(events):
        block = _header(e, calls) + "\n" + event_text(e)
        if used + len(block) > max_chars and out:
            more = f"{e['id']}-e{last:06d}"
            out.append(f"[stopped for length; read on with " +
                       (f"`agentcli memory show {more}`" if cli else f"event=\"{more}\"") +
                       ", or one event at a time]")
            break
        if len(block) > max_chars:
            block = block[:max_chars] + "\n[… cut; read it alone with " + \
                (f"`agentcli memory show {e['id']}`]" if cli else f"event=\"{e['id']}\"]")
        out.append(block)
        used += len(block)
    return "\n\n".join(out)


def _header(event: dict[str, Any], calls: dict[str, Any]) -> str:
    head = f"--- {event.get('id')} · {event_label(event)} · {event.get('ts', '')[:19]}"
    message = event.get("message") or {}
    call = calls.get(message.get("tool_call_id"))
    if event.get("type") == "tool_result" and call:
        head += f"\n(call: {call.get('name')} {json.dumps(call.get('arguments'), ensure_ascii=False)})"
    return head


def _one(event: dict[str, Any], calls: dict[str, Any], offset: int, limit: int | None,
         max_chars: int, cli: bool = False) -> str:
    text = event_text(event)
    header = _header(event, calls)
    if len(text) <= max_chars and offset <= 1 and limit is None:
        return header + "\n" + text
    lines = text.splitlines()
    offset = max(1, offset)
    if offset > len(lines):
        return f"{header}\noffset {offset} is past the end ({len(lines)} lines)"
    out, used, n = [], 0, offset - 1
    stop = len(lines) if limit is None else min(len(lines), offset - 1 + max(1, limit))
    while n < stop:
        entry = f"{n + 1:>6}\t{lines[n]}"
        if used + len(entry) > max_chars and out:
            break
        out.append(entry[: max_chars])
        used += len(entry) + 1
        n += 1
    tail = "" if n >= len(lines) else \
        f"\n[lines {offset}-{n} of {len(lines)}; read on with {_offset_hint(n + 1, cli)}]"
    return header + "\n" + "\n".join(out) + tail


def _offset_hint(line: int, cli: bool) -> str:
    return f"--offset {line}" if cli else f"offset={line}"


def _last_id(path: Path) -> int:
    """The number of the archive's last event (0 if none), read from its end."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - 65536))
            lines = f.read().splitlines()
    except OSError:
        return 0
    for raw in reversed(lines):
        m = re.match(rb'\{"id": "e(\d+)"', raw)
        if m:
            return int(m.group(1))
    return 0


def _full_output(library, session_id: str, event: dict[str, Any]) -> Path | None:
    """The spill file holding a result in full when the archive holds only its view."""
    rel = (event.get("meta") or {}).get("full_output") if event.get("type") == "tool_result" else None
    if not isinstance(rel, str) or ".." in Path(rel).parts:
        return None
    path = library.session_dir(session_id) / rel
    return path if path.is_file() else None


def _page_file(path: Path, header: str, offset: int, limit: int | None, max_chars: int,
               cli: bool) -> str:
    """Lines of a (possibly huge) file from `offset`, numbered, read without loading it whole."""
    offset = max(1, offset)
    out: list[str] = []
    used, n, total, more = 0, 0, 0, False
    with open(path, encoding="utf-8", errors="replace") as f:
        for total, line in enumerate(f, 1):
            if total < offset:
                continue
            entry = f"{total:>6}\t{line.rstrip(chr(10))}"
            if (used + len(entry) > max_chars and out) or (limit is not None and len(out) >= limit):
                more = True
                break
            out.append(entry[:max_chars])
            used += len(entry) + 1
            n = total
    note = f"(the full output, from {path.name} in the session's spill folder)"
    if not out:
        return f"{header}\n{note}\noffset {offset} is past the end ({total} lines)"
    tail = f"\n[lines {offset}-{n}; read on with {_offset_hint(n + 1, cli)}]" if more else ""
    return f"{header}\n{note}\n" + "\n".join(out) + tail
