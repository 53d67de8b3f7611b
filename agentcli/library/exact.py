"""Exact search: ripgrep over the session archives, for exact strings and regular expressions.

The archive is the source of truth, so this runs over `events.jsonl` files directly: ripgrep
finds the lines (events) holding the query's words, and each hit is shown as the event id, what
kind of event it was, and a snippet of its text around the words.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from agentcli.library.hits import Hit, event_label, event_text, searchable
from agentcli.library.index import oneline
from agentcli.tools.search import rg_path

SNIPPET_CHARS = 320
TYPE_BONUS = {"tool_result": 0.6, "user": 0.5, "assistant": 0.0}


class SearchError(Exception):
    """The query could not be run (a bad regular expression, ripgrep missing)."""


def search_exact(paths: dict[str, str], terms: list[str], query: str, limit: int,
                 regex: bool) -> list[Hit]:
    """Events of the archives `paths` (archive path -> session id, oldest session first) that
    hold the `terms` as written (case-insensitively), or match `query` as one regex."""
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
    if not searchable(event):
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
