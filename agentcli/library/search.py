"""Searching the library: ripgrep over the session archives, hits as events with ids.

The archive is the source of truth, so the search runs over `events.jsonl` files directly:
ripgrep finds the lines (events) holding the query's words, and each hit is shown as the event
id, what kind of event it was, and a snippet of its text around the words. `read_events`
shows events in full, paging through long ones by line.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcli.library.archive import ARCHIVE_NAME, find_events
from agentcli.library.index import oneline
from agentcli.tools.search import rg_path

DEFAULT_LIMIT = 12
MAX_LIMIT = 50
SNIPPET_CHARS = 320
# Derived or bookkeeping events: their words are elsewhere in the archive already.
SKIP_TYPES = {"session_start", "session_resume", "run_end", "compaction", "tool_call"}
TYPE_BONUS = {"tool_result": 0.6, "user": 0.5, "assistant": 0.0}
# Results of the memory tools echo other events; searching them would find the echoes.
MEMORY_TOOLS = {"memory_search", "memory_read"}


class SearchError(Exception):
    """The query could not be run (a bad regular expression, ripgrep missing)."""


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


STOP_WORDS = {"a", "an", "and", "are", "at", "be", "by", "for", "from", "in", "is", "it", "of",
              "on", "or", "the", "to", "was", "were", "what", "when", "where", "which", "with"}


def terms_of(query: str) -> list[str]:
    """Words of the query; "quoted phrases" stay whole; stop words go unless nothing else is left."""
    parts = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', query)]
    words = [p for p in dict.fromkeys(p.strip() for p in parts) if p]
    kept = [w for w in words if w.lower() not in STOP_WORDS and len(w) > 1]
    return kept or words


def search(library, query: str, *, session_id: str | None = None, limit: int = DEFAULT_LIMIT,
           regex: bool = False) -> list[Hit]:
    """Events matching `query` in one session (`session_id`) or all, best first.

    Plain queries match each word case-insensitively; events holding all the words (or the
    whole phrase) rank first, newer before older. `regex=True` runs one regular expression
    over the raw archive lines.
    """
    sessions = [session_id] if session_id else library.session_ids()
    paths = {str(library.session_dir(s) / ARCHIVE_NAME): s for s in sessions}
    paths = {p: s for p, s in paths.items() if Path(p).exists()}
    terms = [query] if regex else terms_of(query)
    if not paths or not terms:
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    lines = _rg(terms, list(paths), regex)
    order = {p: i for i, p in enumerate(paths)}
    lowered = [t.lower() for t in terms]
    ranked = sorted(lines.items(), key=lambda kv: (len(kv[1][0]), min(kv[1][1], 5),
                                                   order[kv[0][0]], kv[0][1]), reverse=True)
    hits: list[Hit] = []
    batch = limit * 4
    for start in range(0, len(ranked), batch):
        wanted: dict[str, dict[int, tuple[set, int]]] = {}
        for (path, line), found in ranked[start:start + batch]:
            wanted.setdefault(path, {})[line] = found
        for path, by_line in wanted.items():
            for line, event in _read_lines(Path(path), set(by_line)):
                hit = _hit(event, paths[path], lowered, query, regex, by_line[line][1])
                if hit is not None:
                    hits.append(hit)
        if len(hits) >= limit * 2:
            break
    age = {s: i for i, s in enumerate(paths.values())}
    hits.sort(key=lambda h: (h.score, age[h.session_id], h.event_id), reverse=True)
    if any(h.complete for h in hits):  # some events hold every word: show only those
        hits = [h for h in hits if h.complete]
    return hits[:limit]


def _hit(event: dict[str, Any], session_id: str, lowered: list[str], query: str, regex: bool,
         matches: int) -> Hit | None:
    if event.get("type") in SKIP_TYPES:
        return None
    if event.get("type") == "tool_result" and (event.get("message") or {}).get("name") in MEMORY_TOOLS:
        return None
    text = event_text(event)
    low = text.lower()
    present = [t for t in lowered if t in low] if not regex else lowered
    if not regex and not present:
        return None  # the words matched only inside JSON syntax
    count = sum(low.count(t) for t in present) if not regex else matches
    # Outputs and requests hold facts; an assistant's call only names what it looked for.
    score = 10.0 * len(present) / len(lowered) + min(count, 5) * 0.1 + TYPE_BONUS.get(event.get("type"), 0.2)
    if not regex and len(lowered) > 1 and query.lower() in low:
        score += 5
    return Hit(session_id, event.get("id", "?"), event.get("type", "?"), event_label(event),
               event.get("ts", ""), _snippet(text, present, query if regex else None), score,
               len(present) == len(lowered))


def _rg(terms: list[str], paths: list[str], regex: bool) -> dict[tuple[str, int], tuple[set, int]]:
    """(path, line number) -> (indexes of the terms found on it, number of matches)."""
    argv = [rg_path(), "--no-config", "--no-ignore", "--with-filename", "--null", "--line-number", "--only-matching",
            "--ignore-case", "--no-messages"]
    if not regex:
        argv.append("--fixed-strings")
    # Archive lines are JSON: search for the words as JSON writes them.
    patterns = terms if regex else [json.dumps(t, ensure_ascii=False)[1:-1] for t in terms]
    for p in patterns:
        argv += ["--regexp", p]
    try:
        proc = subprocess.run(argv + ["--", *paths], capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise SearchError("the search took longer than 60s; use more specific words") from exc
    if proc.returncode == 2 and not proc.stdout:
        raise SearchError("search failed: " + oneline(proc.stderr.decode("utf-8", "replace"), 200))
    lowered = [p.lower() for p in patterns]
    out: dict[tuple[str, int], tuple[set, int]] = {}
    for raw in proc.stdout.splitlines():
        path, _, rest = raw.partition(b"\0")
        number, _, match = rest.partition(b":")
        try:
            key = (path.decode("utf-8", "replace"), int(number))
        except ValueError:
            continue
        found, count = out.get(key, (set(), 0))
        text = match.decode("utf-8", "replace").lower()
        found.add(lowered.index(text) if text in lowered else 0 if regex else text)
        out[key] = (found, count + 1)
    return out


def _read_lines(path: Path, numbers: set[int]):
    """(line number, event) for the wanted lines of an archive."""
    last = max(numbers)
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n in numbers:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield n, event
            if n >= last:
                return


def event_text(event: dict[str, Any]) -> str:
    """The words of an event, as a person would read them."""
    message = event.get("message")
    if isinstance(message, dict):
        parts = [message.get("content") or ""]
        for call in message.get("tool_calls") or []:
            if call.get("name") in MEMORY_TOOLS:
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


def _snippet(text: str, terms: list[str], pattern: str | None) -> str:
    """About SNIPPET_CHARS of `text` around the place where most of the terms meet."""
    low = text.lower()
    positions: list[int] = []
    if pattern is not None:
        try:
            m = re.search(pattern, text, re.IGNORECASE)
        except re.error:
            m = None
        positions = [m.start()] if m else [0]
    else:
        rarest = min(terms, key=lambda t: low.count(t)) if terms else ""
        start = low.find(rarest) if rarest else 0
        while start >= 0 and len(positions) < 50:
            positions.append(start)
            start = low.find(rarest, start + 1)
    half = SNIPPET_CHARS // 2

    def covered(pos: int) -> int:
        window = low[max(0, pos - half): pos + half]
        return sum(1 for t in terms if t in window)

    best = max(positions or [0], key=covered)
    begin = max(0, best - half + 40)
    piece = text[begin: begin + SNIPPET_CHARS]
    return ("…" if begin > 0 else "") + oneline(piece, SNIPPET_CHARS + 40) + \
        ("…" if begin + SNIPPET_CHARS < len(text) else "")


def format_hits(hits: list[Hit], query: str, current: str | None = None, *, cli: bool = False) -> str:
    """Hits as the memory tool (or, with `cli`, `agentcli memory search`) prints them."""
    if not hits:
        return (f"no events match {query!r}. Try fewer or other words, a distinctive name or "
                f"number, or {'--regex' if cli else 'regex=true'}.")
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
