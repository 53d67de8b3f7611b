"""Index files: a short root INDEX.md and topical files, written deterministically from the archive.

One entry per line, each starting with the event id (or range `e000012-e000013`: a tool call and
its result) it points at, so `rg` over the session folder lands on events that `memory_read`
shows in full. No model is involved: the same archive always gives the same files.

    INDEX.md       who, when, what model, counts, and the heads of the lists below (≤ 200 lines)
    requests.md    every user request, verbatim
    files.md       files read and changed
    commands.md    commands and searches run, with exit codes
    errors.md      errors, verbatim
    notes.md       the assistant's decisions and answers, model switches, compactions, run ends
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any, Iterable

TOPICS = {
    "requests.md": "User requests, verbatim, oldest first",
    "files.md": "Files read and changed",
    "commands.md": "Commands and searches run, with exit codes",
    "errors.md": "Errors, verbatim",
    "notes.md": "Decisions and notes: assistant messages, model switches, compactions, run ends",
}
FILE_TOOLS = {"read": "read", "write": "write", "edit": "edit"}
MAX_REQUEST_CHARS = 4000
MAX_ERROR_CHARS = 800
MAX_NOTE_CHARS = 400
INDEX_MAX_LINES = 200
# INDEX.md and meta.json are rewritten at most this often during a run (and always at run ends,
# compactions and resumes): replacing a file costs milliseconds on some filesystems.
REWRITE_EVERY_S = 2.0


def oneline(text: Any, limit: int) -> str:
    """`text` on one line (newlines shown as ⏎), cut to `limit` characters."""
    flat = " ⏎ ".join(part.rstrip() for part in str(text).strip().splitlines())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _args_summary(arguments: Any, limit: int = 160) -> str:
    if not isinstance(arguments, dict):
        return oneline(arguments, limit)
    parts = [f"{k}={oneline(v if isinstance(v, str) else json.dumps(v), 80)!r}"
             if isinstance(v, str) else f"{k}={oneline(json.dumps(v), 80)}" for k, v in arguments.items()]
    return oneline(" ".join(parts), limit)


class SessionIndex:
    """Follows one session's archive (`observe` each record) and keeps its index files."""

    def __init__(self, library, session_id: str):
        self.library = library
        self.id = session_id
        self.dir: Path = library.session_dir(session_id)
        self._written = 0.0
        self._reset()

    def _reset(self) -> None:
        self.model = ""
        self.started = ""
        self.last_ts = ""
        self.last_id = ""
        self.events = 0
        self.turns = 0
        self.requests: list[tuple[str, str]] = []
        self.changed: OrderedDict[str, list[str]] = OrderedDict()
        self.read: OrderedDict[str, str] = OrderedDict()
        self.errors: deque[str] = deque(maxlen=20)
        self.commands: deque[str] = deque(maxlen=20)
        self.notes: deque[str] = deque(maxlen=20)
        self.compactions: list[str] = []
        self.counts = {name: 0 for name in TOPICS}
        self._calls: dict[str, tuple[str, dict[str, Any]]] = {}
        self._pending: dict[str, list[str]] = {name: [] for name in TOPICS}

    # -- following the archive ----------------------------------------------------------------

    def observe(self, record: dict[str, Any]) -> None:
        """Turn one archive record into index lines (written at the next `flush`)."""
        eid, kind = record.get("id", ""), record.get("type", "")
        self.events += 1
        self.last_id, self.last_ts = eid, record.get("ts", self.last_ts)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(eid, record)
        elif kind not in ("tool_call",):
            self._add("notes.md", f"{eid} {kind}: {oneline(_extra(record), MAX_NOTE_CHARS)}",
                      self.notes)
        if kind == "tool_call":
            call = record.get("call") or {}
            self._calls[call.get("id", "")] = (eid, call)

    def _on_session_start(self, eid: str, r: dict[str, Any]) -> None:
        self.model, self.started = r.get("model", ""), r.get("ts", "")

    def _on_session_resume(self, eid: str, r: dict[str, Any]) -> None:
        self.model = r.get("model", self.model)
        self._add("notes.md", f"{eid} resumed on {self.model}", self.notes)

    def _on_user(self, eid: str, r: dict[str, Any]) -> None:
        text = (r.get("message") or {}).get("content", "")
        self.requests.append((eid, oneline(text, MAX_REQUEST_CHARS)))
        self._add("requests.md", f"{eid} {oneline(text, MAX_REQUEST_CHARS)}")

    def _on_assistant(self, eid: str, r: dict[str, Any]) -> None:
        self.turns += 1
        self.model = r.get("model") or self.model
        message = r.get("message") or {}
        for call in message.get("tool_calls") or []:
            self._calls.setdefault(call.get("id", ""), (eid, call))
        text = message.get("content", "")
        if text.strip():
            stop = r.get("stop_reason")
            mark = " [interrupted]" if stop == "interrupted" else ""
            self._add("notes.md", f"{eid} assistant{mark}: {oneline(text, MAX_NOTE_CHARS)}", self.notes)

    def _on_tool_result(self, eid: str, r: dict[str, Any]) -> None:
        message = r.get("message") or {}
        meta = r.get("meta") or {}
        start, call = self._calls.pop(message.get("tool_call_id", ""), (eid, {}))
        name = message.get("name") or call.get("name", "?")
        args = call.get("arguments") or {}
        where = f"{start}-{eid}" if start != eid else eid
        content = message.get("content", "")
        if name in FILE_TOOLS and isinstance(args, dict):
            path = meta.get("path") or args.get("path", "?")
            if message.get("is_error"):
                line = f"{where} {name} {path} → error"
            elif name == "read":
                span = meta.get("range")
                line = f"{where} read {path}" + (f" (lines {span[0]}-{span[1]})" if span else "")
                self.read[path] = eid
                self.read.move_to_end(path)
            else:
                line = f"{where} {name} {path}"
                self.changed.setdefault(path, []).append(f"{eid} {name}")
                self.changed.move_to_end(path)
            self._add("files.md", line)
        else:
            line = f"{where} {name} {_args_summary(args)}"
            if name == "shell":
                code = meta.get("exit_code")
                line = f"{where} shell `{oneline(args.get('command', ''), 300)}` → " + (
                    "timed out" if meta.get("timed_out") else f"exit {code}")
            elif "matches" in meta:
                line += f" → {meta['matches']} matches"
            elif "count" in meta:
                line += f" → {meta['count']} files"
            self._add("commands.md", line, self.commands)
        failed = message.get("is_error") or (name == "shell" and meta.get("exit_code") not in (0, None))
        if failed:
            tail = content if len(content) <= MAX_ERROR_CHARS else "…" + content[-MAX_ERROR_CHARS:]
            self._add("errors.md", f"{where} {name} {_args_summary(args, 120)}: {oneline(tail, MAX_ERROR_CHARS + 40)}",
                      self.errors)

    def _on_error(self, eid: str, r: dict[str, Any]) -> None:
        self._add("errors.md", f"{eid} {r.get('source', '')} {r.get('model', '')} {r.get('kind', '')}: "
                  f"{oneline(r.get('message', ''), MAX_ERROR_CHARS)}", self.errors)

    def _on_model_switch(self, eid: str, r: dict[str, Any]) -> None:
        self.model = r.get("new", self.model)
        self._add("notes.md", f"{eid} model switch {r.get('old')} → {r.get('new')}: "
                  f"{oneline(r.get('reason', ''), 200)}", self.notes)

    def _on_compaction(self, eid: str, r: dict[str, Any]) -> None:
        what = r.get("summary_file") or r.get("step", "")
        line = (f"{eid} compaction #{r.get('n')} ({r.get('step')}, {r.get('reason')}): "
                f"{r.get('tokens_before', 0):,} → {r.get('tokens_after', 0):,} tokens; {what}")
        if r.get("failure"):
            line += f"; summary failed: {oneline(r['failure'], 200)}"
        self.compactions.append(line)
        self._add("notes.md", line, self.notes)

    def _on_run_end(self, eid: str, r: dict[str, Any]) -> None:
        self._add("notes.md", f"{eid} run end ({r.get('stop_reason')}): "
                  f"{oneline(r.get('result', ''), 300)}", self.notes)

    def _add(self, topic: str, line: str, recent: deque | None = None) -> None:
        self._pending[topic].append(line)
        self.counts[topic] += 1
        if recent is not None:
            recent.append(line)

    # -- writing ------------------------------------------------------------------------------

    def flush(self, force: bool = True) -> None:
        """Append the new lines to the topical files, bring the ranked search index up to date,
        and rewrite INDEX.md and meta.json (unless not `force` and they were rewritten less
        than REWRITE_EVERY_S ago)."""
        for topic, lines in self._pending.items():
            if lines:
                path = self.dir / topic
                if not path.exists():
                    lines.insert(0, f"# {TOPICS[topic]} — session {self.id}")
                self.library.append_text(path, "\n".join(lines) + "\n")
                lines.clear()
        if force:
            self.library.fulltext.update(self.id)
        else:
            self.library.fulltext.update_soon(self.id)
        now = time.monotonic()
        if not force and now - self._written < REWRITE_EVERY_S:
            return
        self._written = now
        self.library.write_text(self.dir / "INDEX.md", self.render())
        self.library.write_text(self.dir / "meta.json", json.dumps(self.meta(), ensure_ascii=False,
                                                                   indent=1))

    def publish(self) -> None:
        """Put this session's line into the workspace's shared INDEX.md."""
        first = oneline(self.requests[0][1], 120) if self.requests else "(no request yet)"
        self.library.update_root_index(
            self.id, f"{self.started[:19]} · {self.model} · {self.turns} turns · {first}")

    def rebuild(self, records: Iterable[dict[str, Any]]) -> None:
        """Write every index file afresh from the archive's records."""
        for topic in TOPICS:
            try:
                (self.dir / topic).unlink()
            except FileNotFoundError:
                pass
        self._reset()
        for record in records:
            self.observe(record)
        self.flush()

    def meta(self) -> dict[str, Any]:
        return {"id": self.id, "started": self.started, "last_activity": self.last_ts,
                "model": self.model, "turns": self.turns, "events": self.events,
                "last_event": self.last_id, "compactions": len(self.compactions),
                "first_request": self.requests[0][1][:300] if self.requests else "",
                "last_request": self.requests[-1][1][:300] if self.requests else ""}

    def render(self) -> str:
        """INDEX.md: short, most useful first, never more than INDEX_MAX_LINES lines."""
        files = " · ".join(f"{t} ({self.counts[t]})" for t in TOPICS)
        out = [f"# Session {self.id}",
               f"Model {self.model or '?'} · started {self.started[:19]} · last activity "
               f"{self.last_ts[:19]} · {self.turns} turns · {self.events} events · "
               f"{len(self.compactions)} compactions",
               "Every event is in events.jsonl with a stable id (e000123). Search with memory_search; "
               "read an event in full with memory_read(event=\"e000123\").",
               f"Topical files, one entry per line: {files}", ""]
        out += _section("User requests (verbatim, newest last)",
                        [f"{e} {oneline(t, 300)}" for e, t in self.requests], 15, "requests.md")
        out += _section("Files changed", [f"{p} — {', '.join(v[-4:])}" for p, v in self.changed.items()],
                        25, "files.md")
        out += _section("Recent errors", [oneline(x, 300) for x in self.errors], 8, "errors.md")
        out += _section("Recent commands", list(self.commands), 10, "commands.md")
        out += _section("Files read (most recent)", [f"{p} — {e}" for p, e in self.read.items()],
                        15, "files.md")
        out += _section("Compactions", self.compactions, 8, "notes.md")
        return "\n".join(out[:INDEX_MAX_LINES]) + "\n"

    def head(self, max_chars: int) -> str:
        """The top of INDEX.md, whole lines only, within `max_chars`."""
        out, used = [], 0
        for line in self.render().splitlines():
            if used + len(line) + 1 > max_chars:
                break
            out.append(line)
            used += len(line) + 1
        return "\n".join(out)

    def digest(self, max_chars: int) -> str:
        """What a person would want from the index when no model summary could be written."""
        parts = ["User requests (verbatim, newest last):"]
        parts += [f"- {e} {oneline(t, 600)}" for e, t in self.requests[-10:]]
        if self.changed:
            parts.append("Files changed: " + ", ".join(list(self.changed)[-30:]))
        if self.commands:
            parts += ["Recent commands:"] + [f"- {c}" for c in list(self.commands)[-8:]]
        if self.errors:
            parts += ["Recent errors:"] + [f"- {oneline(x, 400)}" for x in list(self.errors)[-5:]]
        if self.notes:
            parts += ["Recent notes:"] + [f"- {n}" for n in list(self.notes)[-6:]]
        text = "\n".join(parts)
        return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _section(title: str, items: list[str], cap: int, where: str) -> list[str]:
    if not items:
        return []
    shown = items[-cap:]
    lines = [f"## {title}"] + [f"- {x}" for x in shown]
    if len(items) > cap:
        lines.append(f"- … {len(items) - cap} more in {where}")
    return lines + [""]


def _extra(record: dict[str, Any]) -> str:
    rest = {k: v for k, v in record.items() if k not in ("id", "ts", "type")}
    return json.dumps(rest, ensure_ascii=False, default=str)
