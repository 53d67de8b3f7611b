"""The lossless archive: one append-only JSONL file per session.

Each line is one event with a stable id (`e000123`), a UTC timestamp and a type. Lines are
flushed as they are written and fsynced at every turn end. Nothing is rewritten or deleted. A
process killed mid-write leaves at most one half line at the end; readers skip it, and the
next writer starts on a fresh line.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

ARCHIVE_NAME = "events.jsonl"
FORMAT_VERSION = 1


class ArchiveError(Exception):
    """The archive could not be written (disk full, permissions) or read (a newer format)."""


class LibraryError(ArchiveError):
    """A library request a person must correct: an unknown session id, a session in use."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_id(n: int) -> str:
    return f"e{n:06d}"


def id_number(eid: str) -> int:
    return int(eid.lstrip("e"))


class Archive:
    """Append-only event log of one session. `redact` cleans every text before it is written.

    `observers` are called with each record after it is written (the index files follow the
    archive this way); a failing observer never loses an event.
    """

    def __init__(self, path: Path, redact: Callable[[str], str] | None = None):
        self.path = Path(path)
        self.redact = redact
        self.observers: list[Callable[[dict[str, Any]], None]] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._count, self._torn = _scan(self.path)
        self._file = None
        self._syncer: threading.Thread | None = None
        self._wanted = threading.Event()

    @property
    def count(self) -> int:
        """Events written so far; the next event gets id `event_id(count + 1)`."""
        return self._count

    def append(self, type: str, **data: Any) -> str:
        """Write one event and return its id. Raises ArchiveError if the disk refuses it."""
        with self._lock:
            eid = event_id(self._count + 1)
            record = {"id": eid, "ts": now_iso(), "type": type, **data}
            line = json.dumps(record, ensure_ascii=False, default=str)
            if self.redact is not None:
                line = self.redact(line)
            if not _encodable(line):  # a lone surrogate from a model ("\ud800"): keep it, escaped
                line = json.dumps(json.loads(line), ensure_ascii=True)
            try:
                f = self._open()
                if self._torn:
                    f.write("\n")
                    self._torn = False
                f.write(line + "\n")
                f.flush()
            except OSError as exc:
                self._torn = True  # part of the line may be on disk
                raise ArchiveError(f"cannot write the session archive {self.path}: "
                                   f"{exc.strerror or exc}") from exc
            self._count += 1
        for observer in self.observers:
            try:
                observer(record)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:
                pass  # derived files can be rebuilt from the archive; the event is safe
        return eid

    def sync(self) -> None:
        """Make everything written so far durable: flushed and fsynced before returning."""
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:
                raise ArchiveError(f"cannot sync the session archive: {exc.strerror or exc}") from exc

    def sync_soon(self) -> None:
        """Flush now (a killed process loses nothing written) and fsync on a background thread
        (the loop does not wait on the disk; an OS crash may lose the last moments)."""
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.flush()
            except OSError as exc:
                raise ArchiveError(f"cannot write the session archive: {exc.strerror or exc}") from exc
            if self._syncer is None:
                self._syncer = threading.Thread(target=self._sync_worker, daemon=True,
                                                name="archive-fsync")
                self._syncer.start()
        self._wanted.set()

    def _sync_worker(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._lock:
                fd = self._file.fileno() if self._file is not None else None
            if fd is None:
                continue
            try:
                os.fsync(fd)
            except (OSError, ValueError):
                pass  # the next sync() reports a failing disk

    def close(self) -> None:
        try:
            self.sync()
        except ArchiveError:
            pass
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError:
                    pass
                self._file = None

    def events(self, start: int = 1) -> Iterator[dict[str, Any]]:
        """Events from number `start` on, skipping a torn or unreadable line."""
        yield from read_events(self.path, start)

    def _open(self):
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        return self._file


def read_events(path: Path, start: int = 1) -> Iterator[dict[str, Any]]:
    """Every complete event in the archive at `path` from number `start` on."""
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            if not line.endswith("\n"):
                return  # a half-written last line
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or "id" not in event:
                continue
            if id_number(event["id"]) >= start:
                yield event


def find_events(path: Path, first: int, last: int) -> list[dict[str, Any]]:
    """Events numbered `first`..`last` (inclusive), found by their id without parsing the rest."""
    out: list[dict[str, Any]] = []
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return out
    with f:
        for raw in f:
            # Lines start with {"id": "e000123", so the number sits at a fixed place.
            head = raw[:24]
            start = head.find(b'"e')
            end = head.find(b'"', start + 2)
            if start < 0 or end < 0 or not raw.endswith(b"\n"):
                continue
            try:
                n = int(head[start + 2:end])
            except ValueError:
                continue
            if n < first or n > last:
                if n > last:
                    break
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append(event)
    return out


def check_format(event: dict[str, Any], path: Path) -> None:
    """Refuse an archive written by a newer agentcli, whose events this one may misread."""
    version = event.get("format", FORMAT_VERSION)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ArchiveError(f"{path} was written by a newer agentcli (archive format {version}, "
                           f"this one reads {FORMAT_VERSION}); upgrade agentcli to open it")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scan(path: Path) -> tuple[int, bool]:
    """(last complete event number, whether the file ends in a torn line)."""
    if not path.exists():
        return 0, False
    last = 0
    torn = False
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                torn = True
                break
            try:
                last = max(last, id_number(json.loads(raw)["id"]))
            except (ValueError, KeyError, TypeError):
                continue
    return last, torn
