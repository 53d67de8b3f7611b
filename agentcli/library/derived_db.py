"""The SQLite files the library derives from its archives (`search.db`, `codemap.db`): opened
the same way, and removed whole when they must be built again."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Autocommit (callers open their own transactions), usable from the index's worker thread,
    in WAL mode so readers do not wait for a writer."""
    db = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # derived data: an OS crash may cost the last updates
    return db


def meta(db: sqlite3.Connection, key: str) -> str | None:
    """`key` of the file's meta table; None where it or the table is not there."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return row[0] if row else None


def remove(path: Path) -> None:
    """The file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
