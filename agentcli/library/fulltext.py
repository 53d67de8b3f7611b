"""Ranked search over the library: an SQLite FTS5 index file beside the sessions.

`search.db` in the library root holds one row per searchable event of every session of the
workspace: its label and its text as the archive holds them (already redacted), passed through
`Library.clean` once more like everything the library writes. FTS5's porter tokenizer stems
words, so "backups uploaded" meets "the backup job uploads", and BM25 weighs rare words over
common ones. Events holding more of the query's words rank first; BM25 orders the rest.

The file is derived and kept incrementally: a progress table records, per session, the byte
offset its archive has been read to, so an update reads only the lines appended since. The
session's own process updates it at each turn end (on a background thread, while the model
thinks) and before it exits; a search first catches up any archive that grew (another process,
an older agentcli, a crash). A missing, corrupt or other-format file is
rebuilt from the archives.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterator

from agentcli.library import derived_db
from agentcli.library.archive import ARCHIVE_NAME
from agentcli.library.hits import Hit, event_label, event_text, searchable
from agentcli.library.index import oneline

DB_NAME = "search.db"
SCHEMA = "1"
MAX_DOC_CHARS = 1_000_000  # a longer event is ranked by its head; exact search still sees it all
CANDIDATES = 200
SNIPPET_CHARS = 320
OPEN, CLOSE = "\x02", "\x03"  # around matched words in highlight(); never in archive text
BUSY_TIMEOUT_S = 10.0
# Tool outputs and requests hold facts; an assistant's call only names what it looked for.
TYPE_BONUS = {"tool_result": 0.3, "user": 0.3}


class Unavailable(Exception):
    """The ranked index cannot be used here (no FTS5, a locked or read-only library)."""


class FullText:
    """The workspace's ranked index: `update` a session as it grows, `search` all or one."""

    def __init__(self, library):
        self.library = library
        self.path: Path = library.root / DB_NAME
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._wanted = threading.Event()
        self._worker: threading.Thread | None = None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None

    # -- keeping it up to date ----------------------------------------------------------------

    def update(self, session_id: str) -> bool:
        """Index what was appended to the session's archive since the last update. False when
        the index could not be written (it is derived: a later update catches up)."""
        try:
            with self._lock:
                db = self._conn()
                done = dict(db.execute("SELECT session, offset FROM progress WHERE session = ?",
                                       (session_id,)).fetchall())
                self._catch_up(db, session_id, done.get(session_id, 0))
            return True
        except (Unavailable, sqlite3.Error, OSError):
            return False

    def update_soon(self, session_id: str) -> None:
        """`update` on a background thread, so the loop does not wait for the index."""
        with self._lock:
            self._pending.add(session_id)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, daemon=True, name="search-index")
                self._worker.start()
        self._wanted.set()

    def _work(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._lock:
                todo, self._pending = self._pending, set()
            for sid in todo:
                self.update(sid)

    def _catch_up_all(self, db: sqlite3.Connection, sessions: list[str]) -> None:
        done = dict(db.execute("SELECT session, offset FROM progress").fetchall())
        for sid in sessions:
            self._catch_up(db, sid, done.get(sid, 0))

    def _catch_up(self, db: sqlite3.Connection, session_id: str, done: int) -> None:
        archive = self.library.session_dir(session_id) / ARCHIVE_NAME
        try:
            size = archive.stat().st_size
        except FileNotFoundError:
            return
        if size == done:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have caught up meanwhile.
            row = db.execute("SELECT offset FROM progress WHERE session = ?", (session_id,)).fetchone()
            start = row[0] if row else 0
            if start > size:  # the archive was replaced: index it afresh
                db.execute("DELETE FROM docs WHERE session = ?", (session_id,))
                start = 0
            end = [start]
            db.executemany("INSERT INTO docs(label, body, session, eid, type, ts) VALUES (?, ?, ?, ?, ?, ?)",
                           _docs(archive, session_id, start, end, self.library.clean))
            db.execute("INSERT OR REPLACE INTO progress(session, offset) VALUES (?, ?)",
                       (session_id, end[0]))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    # -- searching ----------------------------------------------------------------------------

    def search(self, terms: list[str], sessions: list[str], limit: int) -> list[Hit]:
        """Events of `sessions` holding any of `terms` (words or phrases), best first."""
        words = [t for t in terms if re.search(r"\w", t)]
        if not words:
            return []
        with self._lock:
            for attempt in (1, 2):
                try:
                    db = self._conn()
                    with contextlib.suppress(sqlite3.OperationalError):  # locked: search what is there
                        self._catch_up_all(db, sessions)
                    return _ranked(db, words, sessions, limit)
                except sqlite3.OperationalError as exc:
                    raise Unavailable(str(exc)) from exc
                except sqlite3.DatabaseError:
                    if attempt == 2:
                        raise Unavailable(f"the search index {self.path} cannot be rebuilt") from None
                    self._discard()  # corrupt: rebuilt from the archives on the next try
        return []

    # -- the file -----------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = derived_db.connect(self.path, BUSY_TIMEOUT_S)
            if derived_db.meta(db, "schema") == SCHEMA:
                return db
            db.close()
        except sqlite3.OperationalError as exc:
            raise Unavailable(str(exc)) from exc
        except sqlite3.DatabaseError:
            pass  # not a database, or a damaged one: start again from the archives
        except OSError as exc:
            raise Unavailable(str(exc)) from exc
        derived_db.remove(self.path)
        try:
            db = derived_db.connect(self.path, BUSY_TIMEOUT_S)
            _create(db)
        except sqlite3.Error as exc:
            raise Unavailable(str(exc)) from exc
        return db

    def _discard(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        derived_db.remove(self.path)


def _create(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS progress(session TEXT PRIMARY KEY, offset INTEGER NOT NULL)")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(label, body, session UNINDEXED, "
               "eid UNINDEXED, type UNINDEXED, ts UNINDEXED, "
               "tokenize = 'porter unicode61 remove_diacritics 2')")
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA,))
    db.execute("COMMIT")


def _docs(archive: Path, session_id: str, start: int, end: list[int],
          clean: Callable[[str], str]) -> Iterator[tuple[str, str, str, str, str, str]]:
    """Rows for the complete archive lines from byte `start`; `end[0]` follows the last one."""
    with open(archive, "rb") as f:
        f.seek(start)
        position = start
        for raw in f:
            if not raw.endswith(b"\n"):
                return  # a line still being written (or torn): read it next time
            position += len(raw)
            end[0] = position
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict) or not searchable(event):
                continue
            text = event_text(event)
            if text.strip():
                yield (clean(event_label(event)), clean(text[:MAX_DOC_CHARS]), session_id,
                       str(event.get("id", "?")), str(event.get("type", "?")), str(event.get("ts", "")))


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _ranked(db: sqlite3.Connection, words: list[str], sessions: list[str], limit: int) -> list[Hit]:
    """Candidates by BM25 over any of the words, then ordered by how many of them each holds."""
    match = " OR ".join(_phrase(w) for w in words)
    only = sessions[0] if len(sessions) == 1 else None
    rows = db.execute(
        "SELECT rowid, session, eid, type, label, ts, bm25(docs, 2.0, 1.0) FROM docs "
        "WHERE docs MATCH ? AND (? IS NULL OR session = ?) ORDER BY bm25(docs, 2.0, 1.0) LIMIT ?",
        (match, only, only, CANDIDATES)).fetchall()
    known = set(sessions)
    rows = [r for r in rows if r[1] in known]
    if not rows:
        return []
    ids = [r[0] for r in rows]
    held = {rowid: 0 for rowid in ids}
    if len(words) > 1:
        for w in words:
            for rowid in _holding(db, _phrase(w)).intersection(held):
                held[rowid] += 1
        phrase = _holding(db, _phrase(" ".join(words)))
    else:
        held = {rowid: 1 for rowid in ids}
        phrase = set()
    best = max(-r[6] for r in rows) or 1.0
    scored = []
    for rowid, sid, eid, kind, label, ts, bm25 in rows:
        score = (10.0 * held[rowid] / len(words) + (3.0 if rowid in phrase else 0.0)
                 + -bm25 / best + TYPE_BONUS.get(kind, 0.0))
        scored.append((score, sid, eid, rowid, kind, label, ts, held[rowid] == len(words)))
    # Events that hold every word answer the query; the rest only share some of its words
    # (often its common ones), so they are shown only when no event holds them all.
    if any(s[7] for s in scored):
        scored = [s for s in scored if s[7]]
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    top = scored[:limit]
    marked = _highlighted(db, match, [s[3] for s in top])
    return [Hit(sid, eid, kind, label, ts, snippet(marked.get(rowid, "")), round(score, 3), complete)
            for score, sid, eid, rowid, kind, label, ts, complete in top]


def snippet(marked: str) -> str:
    """About SNIPPET_CHARS of a highlighted text: the line holding the most distinct matched
    words (and what follows it), or in a long line the stretch where they gather."""
    lines = marked.split("\n")

    def matched(text: str) -> int:
        return len({w.lower() for w in re.findall(f"{OPEN}([^{CLOSE}]*){CLOSE}", text)})

    best = max(range(len(lines)), key=lambda i: (matched(lines[i]), -i))
    text = "\n".join(lines[best:])
    start = 0
    if len(lines[best]) > SNIPPET_CHARS:
        marks = [m.start() for m in re.finditer(OPEN, lines[best])]
        if marks:
            start = max(0, max(marks, key=lambda p: (matched(lines[best][p:p + SNIPPET_CHARS]), -p)) - 60)
    piece = text[start:start + SNIPPET_CHARS]
    plain = piece.replace(OPEN, "").replace(CLOSE, "")
    before = best > 0 or start > 0
    after = start + SNIPPET_CHARS < len(text)
    return ("…" if before else "") + oneline(plain, SNIPPET_CHARS + 40) + ("…" if after else "")


def _holding(db: sqlite3.Connection, match: str) -> set[int]:
    # Over the whole index: FTS5 reads a posting list fast, but filters a rowid list slowly.
    return {rowid for (rowid,) in db.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (match,))}


def _highlighted(db: sqlite3.Connection, match: str, ids: list[int]) -> dict[int, str]:
    """The body of each of `ids` with the words `match` matched marked OPEN ... CLOSE."""
    out = {}
    for rowid in ids:
        row = db.execute(f"SELECT highlight(docs, 1, '{OPEN}', '{CLOSE}') FROM docs "
                         "WHERE docs MATCH ? AND rowid = ?", (match, rowid)).fetchone()
        out[rowid] = row[0] if row else ""
    return out
